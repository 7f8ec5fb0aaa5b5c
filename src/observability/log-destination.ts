import { pino, type DestinationStream } from 'pino';

/**
 * Lines gathered per write: each asynchronous write costs the event loop tens of microseconds
 * to hand over, so about fifty review lines share one.
 */
const MIN_WRITE_BYTES = 16 * 1024;
/** Room for about two hundred review lines; a new chunk is taken when one is full. */
const CHUNK_BYTES = 64 * 1024;
/** The most bytes one UTF-8 character takes: less room than this left may have cut a line. */
const MAX_CHAR_BYTES = 4;

export interface BufferedDestination extends DestinationStream {
  /** Writes what is pending, then calls back. */
  flush(cb?: (error?: Error) => void): void;
  flushSync(): void;
}

/**
 * Log lines gathered into 16 KB writes made off the event loop, written at least every second
 * and synchronously on exit (sonic-boom writes, and pino registers its exit flush).
 *
 * Each line is encoded once into a shared chunk and handed to sonic-boom as a view of it. In
 * sonic-boom's text mode each line was appended to the pending text and the whole of it measured
 * again, a copy of up to 4 KB per line: a fifth of a line's cost, and garbage.
 */
export function bufferedDestination(fd: number): BufferedDestination {
  // In buffer mode sonic-boom takes Buffers; its types know only text.
  const boom = pino.destination({
    dest: fd,
    sync: false,
    minLength: MIN_WRITE_BYTES,
    maxWrite: 4 * MIN_WRITE_BYTES,
    periodicFlush: 1000,
    contentMode: 'buffer',
  }) as unknown as {
    write(data: Buffer): boolean;
    flush(cb?: (error?: Error) => void): void;
    flushSync(): void;
  };
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let used = 0;
  return {
    write(line: string): void {
      let written = chunk.write(line, used);
      // Buffer#write stops where the chunk ends: a line near the end may not be whole.
      if (used + written > chunk.length - MAX_CHAR_BYTES) {
        const bytes = Buffer.byteLength(line);
        if (bytes !== written) {
          chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, bytes));
          used = 0;
          written = chunk.write(line, 0);
        }
      }
      // The view stays valid: this part of the chunk is never written again.
      boom.write(chunk.subarray(used, used + written));
      used += written;
    },
    // pino calls these: flushSync after a fatal line, flush from logger.flush().
    flush: (cb) => boom.flush(cb),
    flushSync: () => boom.flushSync(),
  };
}
