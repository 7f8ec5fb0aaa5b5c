import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { bufferedDestination } from '../../src/observability/log-destination.js';

const dir = mkdtempSync(join(tmpdir(), 'meshwarden-log-'));
let files = 0;

/** Logs each message through the destination into a fresh file; the messages read back. */
async function roundTrip(messages: readonly string[]): Promise<string[]> {
  const file = join(dir, `${files++}.log`);
  const fd = openSync(file, 'w');
  const destination = bufferedDestination(fd);
  const logger = pino({ base: undefined, timestamp: false }, destination);
  for (const msg of messages) logger.info(msg);
  await new Promise<void>((resolve, reject) =>
    destination.flush((error) => (error ? reject(error) : resolve())),
  );
  closeSync(fd);
  const text = readFileSync(file, 'utf8');
  return text === ''
    ? []
    : text
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as { msg: string }).msg);
}

describe('buffered log destination', () => {
  it('writes every line whole and in order across chunk ends, multi-byte characters included', async () => {
    // 64 KB chunks: ~2,000 lines of 40-odd bytes cross a chunk's end, with a 4-byte
    // character at every place relative to it; one line is larger than a chunk.
    const messages = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'😀'.repeat(i % 5)}é`);
    messages.splice(1000, 0, `big ${'x'.repeat(100_000)} 😀`);
    expect(await roundTrip(messages)).toEqual(messages);
  });

  it('loses and changes nothing, whatever the lines hold', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 3000 }), { maxLength: 80 }),
        async (messages) => {
          expect(await roundTrip(messages)).toEqual(messages);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('writes a fatal line at once (pino flushes the destination synchronously)', () => {
    const file = join(dir, 'fatal.log');
    const fd = openSync(file, 'w');
    const logger = pino({ base: undefined }, bufferedDestination(fd));
    logger.info('before');
    logger.fatal('the end');
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    closeSync(fd);
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['before', 'the end']);
  });
});
