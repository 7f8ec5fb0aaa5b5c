import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Transform } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decoderFor, readBody, type BodyResult } from '../../src/server/read-body.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A request whose body the test feeds by hand; it stays referenced for the whole test. */
function fakeRequest(headers: Record<string, string> = {}): IncomingMessage & EventEmitter {
  const req = new EventEmitter() as IncomingMessage & EventEmitter;
  Object.assign(req, { headers, complete: true });
  return req;
}

const read = (req: IncomingMessage, limit = 1 << 20, decoder?: () => Transform) =>
  new Promise<BodyResult>((resolve) => readBody(req, limit, decoder, resolve));

describe('readBody', () => {
  it('joins the chunks of a body in order', async () => {
    const req = fakeRequest();
    const result = read(req);
    for (const part of ['{"a":', '1,"b"', ':2}']) req.emit('data', Buffer.from(part));
    req.emit('end');
    const body = await result;
    expect(body.kind).toBe('read');
    expect(body.kind === 'read' ? body.raw?.toString() : undefined).toBe('{"a":1,"b":2}');
  });

  // The request object lives until its answer is written, a turn or more later; chunks it still
  // held would survive into the old generation and stay until a full collection.
  it('lets go of the chunks once they are joined, while the request is still alive', async () => {
    const req = fakeRequest();
    const result = read(req);
    const weak = (() => {
      const chunks = [Buffer.alloc(4096, 1), Buffer.alloc(4096, 2)];
      for (const c of chunks) req.emit('data', c);
      return chunks.map((c) => new WeakRef(c));
    })();
    req.emit('end');
    const body = await result;
    expect(body.kind === 'read' ? body.raw?.length : 0).toBe(8192);
    await new Promise((r) => setImmediate(r));
    gc();
    expect(weak.map((w) => w.deref() === undefined)).toEqual([true, true]);
    expect(req.listenerCount('data')).toBeGreaterThan(0);
  });

  it('drains a body over the limit and reports it as too large', async () => {
    const req = fakeRequest();
    const result = read(req, 10);
    req.emit('data', Buffer.alloc(8));
    req.emit('data', Buffer.alloc(8));
    req.emit('end');
    expect((await result).kind).toBe('too-large');
  });

  it('applies the limit to what a compressed body inflates to', async () => {
    const req = fakeRequest({ 'content-encoding': 'gzip' });
    const inflate = decoderFor('gzip');
    if (typeof inflate !== 'function') throw new Error('gzip has a decoder');
    let piped: NodeJS.WritableStream | undefined;
    Object.assign(req, {
      pipe: (dest: NodeJS.WritableStream) => (piped = dest),
      unpipe: () => req,
      resume: () => req,
    });
    const result = read(req, 1000, inflate);
    piped?.end(gzipSync(Buffer.alloc(5000, 32)));
    req.emit('end');
    expect((await result).kind).toBe('too-large');
  });
});
