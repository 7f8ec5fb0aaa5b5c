import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { floorHandler } from './floor-handler.js';

/**
 * The floor: a bare Node HTTPS server with the same certificate and TLS settings as meshwarden
 * and the handler of floor-handler.ts. Run as its own process by the benchmark:
 * `node baseline-server.js PORT CERT KEY [BUSY_MICROS]`; BUSY_MICROS is the calibration's busy
 * work per review.
 */
const [port, certFile, keyFile, busy] = process.argv.slice(2);
if (port === undefined || certFile === undefined || keyFile === undefined) {
  process.stderr.write('usage: baseline-server PORT CERT KEY [BUSY_MICROS]\n');
  process.exit(2);
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
  floorHandler(Number(busy ?? 0)),
);
server.keepAliveTimeout = 120_000;
server.listen(Number(port), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
