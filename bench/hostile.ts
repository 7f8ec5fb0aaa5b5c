/**
 * Hostile-neighbour figures (npm run bench:hostile): each attack against a real `meshwarden
 * serve` process on 127.0.0.1, with its peak resident memory (VmHWM) next to the chart's 512 MiB
 * limit, and the latency small reviews see meanwhile next to the API server's 5 s timeout.
 * A fresh server per attack, so each peak belongs to one attack.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { generateCertificates } from '../src/pki/issue.js';
import { writeCertificates } from '../src/pki/files.js';
import { KeepAliveClient } from './client.js';
import { startServer, type ServerProcess } from './processes.js';
import { summarize, round } from './stats.js';

const repoRoot = process.cwd();
const work = await mkdtemp(join(tmpdir(), 'meshwarden-hostile-'));
const certs = await writeCertificates(join(work, 'certs'), await generateCertificates());
const spawnOptions = {
  repoRoot,
  certFile: certs.cert,
  keyFile: certs.key,
  logFile: join(work, 'server.log'),
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function envelope(
  object: Record<string, unknown>,
  kind: { group: string; version: string; kind: string },
) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `u-${Math.random()}`,
      kind,
      operation: 'CREATE',
      namespace: 'default',
      userInfo: { username: 'tenant' },
      object,
      oldObject: null,
    },
  };
}

function trafficSplitReview(bytes: number): Buffer {
  const backends: { service: string; weight: number }[] = [];
  let size = 0;
  for (let i = 0; size < bytes - 400; i++) {
    const b = { service: `web-v${i}`, weight: 1 };
    size += JSON.stringify(b).length + 1;
    backends.push(b);
  }
  const object = {
    apiVersion: 'split.smi-spec.io/v1alpha2',
    kind: 'TrafficSplit',
    metadata: { name: 'web', namespace: 'default' },
    spec: { service: 'web', backends },
  };
  return Buffer.from(
    JSON.stringify(
      envelope(object, { group: 'split.smi-spec.io', version: 'v1alpha2', kind: 'TrafficSplit' }),
    ),
  );
}

function deploymentReview(pad = 0): Buffer {
  const object = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'default',
      annotations: pad > 0 ? { pad: 'p'.repeat(pad) } : {},
    },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web', version: 'v1' } },
        spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
      },
    },
  };
  return Buffer.from(
    JSON.stringify(envelope(object, { group: 'apps', version: 'v1', kind: 'Deployment' })),
  );
}

function policyConfigMapReview(bytes: number): Buffer {
  const object = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'meshwarden-policy', namespace: 'team-a' },
    data: {
      'policy.yaml': `spec:\n  weightShift:\n    maxStepWeight: 100\n#${'x'.repeat(bytes)}\n`,
    },
  };
  return Buffer.from(
    JSON.stringify(envelope(object, { group: '', version: 'v1', kind: 'ConfigMap' })),
  );
}

function tlsSocket(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = connect(
      { host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' },
      () => resolve(s),
    );
    s.on('error', reject);
  });
}

/** Small reviews one at a time while `during` runs; latencies in ms. */
async function smallLatencies(server: ServerProcess, during: Promise<unknown>): Promise<number[]> {
  const client = await KeepAliveClient.connect(server.port);
  const body = deploymentReview();
  const out: number[] = [];
  let done = false;
  void during.finally(() => (done = true));
  while (!done) {
    const t0 = process.hrtime.bigint();
    await client.post('/validate?timeout=5s', body);
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await sleep(20);
  }
  client.close();
  return out;
}

interface Row {
  attack: string;
  figure: string;
  peakMiB: number;
  small?: { p50: number; p99: number; max: number };
  limit: string;
}
const rows: Row[] = [];

async function withServer(fn: (s: ServerProcess) => Promise<Omit<Row, 'peakMiB'>>): Promise<void> {
  const server = await startServer('meshwarden', spawnOptions);
  try {
    const row = await fn(server);
    rows.push({ ...row, peakMiB: round(server.rss().peak) });
    console.error(`${row.attack}: ${row.figure}; peak ${round(server.rss().peak)} MB`);
  } finally {
    await server.stop();
  }
}

// 1. Sixteen 3 MB TrafficSplits at a time, for 10 s, while small reviews are timed.
await withServer(async (server) => {
  const big = trafficSplitReview(3 * 1024 * 1024);
  const statuses = new Map<string, number>();
  const until = Date.now() + 10_000;
  const load = Promise.all(
    Array.from({ length: 16 }, async () => {
      const c = await KeepAliveClient.connect(server.port);
      while (Date.now() < until) {
        const r = await c.post('/validate?timeout=5s', big);
        const key = `${r.status}:${r.status === 200 ? String(JSON.parse(r.body.toString()).response?.allowed) : ''}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
      }
      c.close();
    }),
  );
  const small = summarize(await smallLatencies(server, load));
  return {
    attack: '16 × 3 MB TrafficSplit (~90k backends each), 10 s',
    figure: `big answers ${[...statuses].map(([k, v]) => `${k}×${v}`).join(' ')}`,
    small: { p50: round(small.p50), p99: round(small.p99), max: round(small.max) },
    limit: '5 s timeout; 1000 backends per object',
  };
});

// 2. Eight 1 MiB tenant policy ConfigMaps at a time.
await withServer(async (server) => {
  const big = policyConfigMapReview(1024 * 1024);
  const until = Date.now() + 8_000;
  let denied = 0;
  const load = Promise.all(
    Array.from({ length: 8 }, async () => {
      const c = await KeepAliveClient.connect(server.port);
      while (Date.now() < until) {
        const r = await c.post('/validate?timeout=5s', big);
        if (r.status === 200 && JSON.parse(r.body.toString()).response?.allowed === false) denied++;
      }
      c.close();
    }),
  );
  const small = summarize(await smallLatencies(server, load));
  return {
    attack: '8 × 1 MiB tenant meshwarden-policy ConfigMaps, 8 s',
    figure: `${denied} denied by size before YAML parsing`,
    small: { p50: round(small.p50), p99: round(small.p99), max: round(small.max) },
    limit: '5 s timeout; 64 KiB per policy',
  };
});

// 3. 70 bodies of 6.8 MB, each stalled one byte short.
await withServer(async (server) => {
  const sockets: TLSSocket[] = [];
  let refused = 0;
  const chunk = Buffer.alloc(6.8 * 1024 * 1024 - 1, 0x20);
  await Promise.all(
    Array.from({ length: 70 }, async () => {
      const s = await tlsSocket(server.port);
      sockets.push(s);
      s.on('data', (d: Buffer) => {
        if (d.toString().startsWith('HTTP/1.1 429')) refused++;
      });
      s.on('error', () => {});
      s.write(
        `POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${chunk.length + 1}\r\n\r\n`,
      );
      s.write(chunk);
    }),
  );
  await sleep(5000);
  const small = summarize(await smallLatencies(server, sleep(2000)));
  for (const s of sockets) s.destroy();
  return {
    attack: '70 × 6.8 MB bodies stalled one byte short',
    figure: `${refused} answered 429 at once; the rest held until requestTimeout (30 s)`,
    small: { p50: round(small.p50), p99: round(small.p99), max: round(small.max) },
    limit: '32 MiB held; 512 MiB pod limit',
  };
});

// 4. 100 concurrent 6 MB reviews (a Deployment padded to 6 MB).
await withServer(async (server) => {
  const big = deploymentReview(6 * 1024 * 1024);
  const statuses = new Map<number, number>();
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      const c = await KeepAliveClient.connect(server.port);
      const r = await c.post('/mutate?timeout=5s', big).catch(() => ({ status: -1 }));
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      c.close();
    }),
  );
  return {
    attack: '100 concurrent 6 MB reviews',
    figure: [...statuses].map(([k, v]) => `HTTP ${k}×${v}`).join(', '),
    limit: '32 MiB held, 64 in flight; 512 MiB pod limit',
  };
});

// 5. Idle TLS connections past the cap.
await withServer(async (server) => {
  const sockets: TLSSocket[] = [];
  let failed = 0;
  for (let i = 0; i < 1500; i++) {
    try {
      sockets.push(await tlsSocket(server.port));
    } catch {
      failed++;
    }
  }
  await sleep(1000);
  const open = sockets.filter((s) => !s.destroyed).length;
  await sleep(16_000);
  const after = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
  for (const s of sockets) s.destroy();
  return {
    attack: '1500 idle TLS connections',
    figure: `${open} open after 1 s (${failed} refused at handshake), ${after} open after 17 s`,
    limit: '1000 connections; headers timeout 15 s',
  };
});

console.log('\n| Attack | Figure | Peak RSS (MB) | Small review p50 / p99 / max (ms) | Limit |');
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows)
  console.log(
    `| ${r.attack} | ${r.figure} | ${r.peakMiB} of 512 | ${r.small ? `${r.small.p50} / ${r.small.p99} / ${r.small.max}` : '–'} | ${r.limit} |`,
  );
