import type { IncomingMessage } from 'node:http';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/** How reading a request body ended. `aborted`: the client went away; nobody is left to answer. */
export type BodyResult =
  | { readonly kind: 'read'; readonly raw: Buffer | undefined }
  | { readonly kind: 'too-large' }
  | { readonly kind: 'over-budget' }
  | { readonly kind: 'undecodable'; readonly message: string }
  | { readonly kind: 'aborted' };

/**
 * The decompressor for a Content-Encoding: `undefined` for none (identity), `null` for one this
 * server does not read. kube-apiserver sends plain bodies; the others are read for clients that
 * compress (as express's body parser did).
 */
export function decoderFor(encoding: string | undefined): (() => Transform) | undefined | null {
  if (encoding === undefined) return undefined;
  switch (encoding.trim().toLowerCase()) {
    case 'identity':
    case '':
      return undefined;
    case 'gzip':
    case 'x-gzip':
      return createGunzip;
    case 'deflate':
      return createInflate;
    case 'br':
      return createBrotliDecompress;
    default:
      return null;
  }
}

/**
 * Reads a body of at most `limit` bytes (after decompression) and calls `done` once. A body over
 * the limit is still drained to its end before `done`, so the connection can carry the next
 * request.
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  decoder: (() => Transform) | undefined,
  done: (result: BodyResult) => void,
  /** Asked to hold the bytes read so far (the global budget); false stops collecting. */
  hold: (total: number) => boolean = () => true,
): void {
  let finished = false;
  const finish = (result: BodyResult) => {
    if (finished) return;
    finished = true;
    done(result);
  };
  let size = 0;
  let over = false;
  let overBudget = false;
  const chunks: Buffer[] = [];
  const collect = (chunk: Buffer) => {
    if (over || overBudget) return;
    size += chunk.length;
    if (size > limit) {
      over = true;
      chunks.length = 0;
    } else if (!hold(size)) {
      // Dropped now, drained to the end: the connection stays usable for the 429.
      overBudget = true;
      chunks.length = 0;
    } else chunks.push(chunk);
  };
  const ended = (): BodyResult =>
    over
      ? { kind: 'too-large' }
      : overBudget
        ? { kind: 'over-budget' }
        : { kind: 'read', raw: body() };
  // The chunks are let go once joined: the request object (which the listeners keep them on)
  // lives until the answer is written, and a held body would survive into the old generation.
  const body = () => {
    const joined = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
    chunks.length = 0;
    return joined;
  };
  // A client that goes away mid-body gets no answer.
  req.on('close', () => {
    if (!req.complete) finish({ kind: 'aborted' });
  });
  req.on('error', () => finish({ kind: 'aborted' }));

  if (decoder === undefined) {
    const declared = Number(req.headers['content-length']);
    over = Number.isFinite(declared) && declared > limit;
    req.on('data', collect);
    req.on('end', () => finish(ended()));
    return;
  }

  // Compressed: the limit applies to what the body inflates to.
  const inflate = decoder();
  let reqEnded = false;
  let failure: BodyResult | undefined;
  const fail = (result: BodyResult) => {
    if (failure !== undefined) return;
    failure = result;
    req.unpipe(inflate);
    inflate.destroy();
    req.resume();
    if (reqEnded) finish(result);
  };
  inflate.on('data', (chunk: Buffer) => {
    collect(chunk);
    if (over) fail({ kind: 'too-large' });
    else if (overBudget) fail({ kind: 'over-budget' });
  });
  inflate.on('error', (error: Error) =>
    fail({ kind: 'undecodable', message: `body could not be decompressed: ${error.message}` }),
  );
  inflate.on('end', () => {
    if (failure === undefined) finish({ kind: 'read', raw: body() });
  });
  req.on('end', () => {
    reqEnded = true;
    if (failure !== undefined) finish(failure);
  });
  req.pipe(inflate);
}
