import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The floor's request handler: reads the body, parses the AdmissionReview and answers a fixed
 * allow for its uid. With `busyMicros` it spins that long per review first: CPU time only, no
 * allocation and no memory touched (the calibration).
 */
export function floorHandler(busyMicros = 0): (req: IncomingMessage, res: ServerResponse) => void {
  const busyNanos = BigInt(Math.round(busyMicros * 1000));
  const spin = () => {
    if (busyNanos <= 0n) return;
    const start = process.hrtime.bigint();
    while (process.hrtime.bigint() - start < busyNanos);
  };
  return (req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ready');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let review: { apiVersion?: string; request?: { uid?: string } };
      try {
        review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof review;
      } catch {
        res.writeHead(400).end();
        return;
      }
      spin();
      const body = JSON.stringify({
        apiVersion: review.apiVersion,
        kind: 'AdmissionReview',
        response: { uid: review.request?.uid, allowed: true },
      });
      res
        .writeHead(200, {
          'Content-Type': 'application/json; charset=utf-8',
          'Content-Length': Buffer.byteLength(body),
        })
        .end(body);
    });
  };
}
