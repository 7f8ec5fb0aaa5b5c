import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

/**
 * The floor: a bare Node HTTPS server with the same certificate and TLS settings as meshwarden,
 * that reads the body, parses the AdmissionReview and answers a fixed allow. Run as its own
 * process by the benchmark: `node baseline-server.js PORT CERT KEY [BUSY_MICROS]`. With
 * BUSY_MICROS it spins that long per review before answering: the calibration, which shows
 * what a given number of microseconds of work does to the ratio on this machine.
 */
const [port, certFile, keyFile, busy] = process.argv.slice(2);
if (port === undefined || certFile === undefined || keyFile === undefined) {
  process.stderr.write('usage: baseline-server PORT CERT KEY [BUSY_MICROS]\n');
  process.exit(2);
}
const busyNanos = BigInt(Math.round(Number(busy ?? 0) * 1000));

/** Busy work that allocates nothing and touches no memory: CPU time only. */
function spin(): void {
  if (busyNanos <= 0n) return;
  const start = process.hrtime.bigint();
  while (process.hrtime.bigint() - start < busyNanos);
}

const server = createServer(
  {
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
    minVersion: 'TLSv1.2',
    keepAliveTimeout: 120_000,
    headersTimeout: 125_000,
    requestTimeout: 0,
  },
  (req, res) => {
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
  },
);
server.keepAliveTimeout = 120_000;
server.listen(Number(port), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
