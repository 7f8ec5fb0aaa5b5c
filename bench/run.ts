import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateCertificates } from '../src/pki/issue.js';
import { writeCertificates } from '../src/pki/files.js';
import { KeepAliveClient } from './client.js';
import { paced, sequential, throughput, type PacedResult, type ThroughputResult } from './load.js';
import { startServer, type ServerProcess, type SpawnOptions, type Target } from './processes.js';
import { summarizeProfile } from './profile.js';
import { engineCosts } from './engine.js';
import { median, round, slope } from './stats.js';
import {
  deploymentOfSize,
  deploymentReview,
  kb,
  reviewBody,
  trafficSplitUpdate,
  workloads,
  type Workload,
} from './workloads.js';

/**
 * `npm run bench`: meshwarden's production build against a bare Node HTTPS baseline, same
 * certificates, same payloads, one after the other. Prints tables and writes bench/results.json.
 */

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    long: { type: 'string' },
    seconds: { type: 'string' },
    connections: { type: 'string', default: '8' },
    rounds: { type: 'string' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    workloads: { type: 'string' },
    target: { type: 'string', default: 'meshwarden' },
    help: { type: 'boolean', default: false },
  },
});

if (flags.help) {
  process.stdout.write(`npm run bench -- [options]
  --quick           short runs (smoke test; figures not comparable)
  --full            long run of 1,000,000 requests (default 200,000)
  --long N          long run of N requests
  --seconds N       measured seconds per workload and target (default 10)
  --connections N   autocannon keep-alive connections (default 8)
  --rounds N        alternating baseline/meshwarden rounds for the two Deployment workloads
                    the throughput target is about; the median ratio counts (default 3)
  --only LIST       sections: main,paced,growth,stall,engine,long,startup (comma-separated)
  --profile         CPU-profile meshwarden under load instead (node --cpu-prof) and summarize
  --workloads LIST  workload names for the main table or --profile (default: the two Deployment workloads,
                    the 1 MB mutation and the 50-backend split)
  --target T        with --profile: meshwarden (default), baseline, or stand-in (meshwarden
                    with a stand-in marker mutator registered)
`);
  process.exit(0);
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const quick = flags.quick;
const seconds = Number(flags.seconds ?? (quick ? 3 : 10));
const warmSeconds = quick ? 1 : 3;
const connections = Number(flags.connections);
const rounds = Number(flags.rounds ?? (quick ? 1 : 3));
const longAmount = Number(flags.long ?? (flags.full ? 1_000_000 : quick ? 30_000 : 200_000));
const sections = new Set(
  (flags.only ?? 'main,paced,growth,stall,engine,long,startup').split(',').map((s) => s.trim()),
);

const work = mkdtempSync(join(tmpdir(), 'meshwarden-bench-'));
const certs = await writeCertificates(join(work, 'certs'), await generateCertificates());
const spawnOptions: SpawnOptions = {
  repoRoot,
  certFile: certs.cert,
  keyFile: certs.key,
  logFile: join(work, 'server.log'),
};
const readySamples: number[] = [];

const log = (line = '') => process.stdout.write(`${line}\n`);
const fmt = (n: number, digits = 2) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '-';
const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

async function withServer<T>(
  target: Target,
  fn: (server: ServerProcess) => Promise<T>,
  nodeArgs: readonly string[] = [],
): Promise<{ result: T; peakRssMb: number }> {
  const server = await startServer(target, { ...spawnOptions, nodeArgs });
  if (target === 'meshwarden' && nodeArgs.length === 0) readySamples.push(server.readyMs);
  try {
    const result = await fn(server);
    return { result, peakRssMb: server.rss().peak };
  } finally {
    await server.stop();
  }
}

/** One request answered 200 with a response for the request's uid, or the run stops here. */
async function check(port: number, workload: { endpoint: string; body: Buffer }): Promise<void> {
  const client = await KeepAliveClient.connect(port);
  try {
    const response = await client.post(`/${workload.endpoint}`, workload.body);
    const review = JSON.parse(response.body.toString()) as { response?: { uid?: string } };
    const sent = JSON.parse(workload.body.toString()) as { request: { uid: string } };
    if (response.status !== 200 || review.response?.uid !== sent.request.uid)
      throw new Error(
        `unexpected answer: ${response.status} ${response.body.toString().slice(0, 300)}`,
      );
  } finally {
    client.close();
  }
}

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    model: cpus()[0]?.model,
    node: process.version,
    loadAverageAtStart: loadavg().map((l) => round(l)),
  },
  options: { quick, seconds, warmSeconds, connections, rounds, longAmount },
};

type Measured = ThroughputResult & { peakRssMb: number; cpuUsPerRequest: number };

interface MainRow {
  workload: string;
  description: string;
  bytes: number;
  /** The round with the median throughput ratio (all rounds are in `rounds`). */
  baseline: Measured;
  meshwarden: Measured;
  throughputRatio: number;
  p99Ratio: number;
  rounds: { baseline: Measured; meshwarden: Measured; standIn?: Measured; ratio: number }[];
  /** meshwarden with a stand-in marker mutator (mutate workloads), in the median round. */
  standIn?: Measured & { throughputRatio: number };
}

async function measureThroughput(target: Target, w: Workload): Promise<Measured> {
  const { result, peakRssMb } = await withServer(target, async (server) => {
    await check(server.port, w);
    const requests = [{ path: `/${w.endpoint}`, body: w.body }];
    await throughput({ port: server.port, requests, connections, seconds: warmSeconds });
    const cpuBefore = server.cpuMs();
    const r = await throughput({ port: server.port, requests, connections, seconds });
    return { ...r, cpuUsPerRequest: round(((server.cpuMs() - cpuBefore) * 1000) / r.total, 1) };
  });
  return { ...result, peakRssMb: round(peakRssMb, 1) };
}

/** The workloads the throughput target is about: measured over several alternating rounds. */
const TARGET_WORKLOADS = ['validate-deployment', 'mutate-deployment'];

async function mainTable(): Promise<MainRow[]> {
  log(`## Throughput: autocannon, ${connections} keep-alive connections, ${seconds} s per run`);
  log(
    `${pad('workload', 40)}${pad('target', 12)}${lpad('req/s', 9)}${lpad('p50 ms', 8)}${lpad('p99 ms', 8)}${lpad('max ms', 8)}${lpad('peak RSS', 10)}${lpad('CPU µs/req', 12)}${lpad('vs base', 9)}`,
  );
  const rows: MainRow[] = [];
  const names = flags.workloads?.split(',');
  for (const w of workloads().filter((x) => !names || names.includes(x.name))) {
    const n = TARGET_WORKLOADS.includes(w.name) ? rounds : 1;
    const withStandIn = w.endpoint === 'mutate';
    const runs: MainRow['rounds'] = [];
    for (let i = 0; i < n; i++) {
      const baseline = await measureThroughput('baseline', w);
      const meshwarden = await measureThroughput('meshwarden', w);
      const standIn = withStandIn ? await measureThroughput('stand-in', w) : undefined;
      runs.push({
        baseline,
        meshwarden,
        ...(standIn ? { standIn } : {}),
        ratio: round(meshwarden.requestsPerSecond / baseline.requestsPerSecond, 3),
      });
    }
    const median = [...runs].sort((a, b) => a.ratio - b.ratio)[Math.floor(runs.length / 2)]!;
    const { baseline, meshwarden, standIn } = median;
    const row: MainRow = {
      workload: w.name,
      description: w.description,
      bytes: w.body.length,
      baseline,
      meshwarden,
      throughputRatio: median.ratio,
      p99Ratio: round(meshwarden.p99 / baseline.p99, 2),
      rounds: runs,
      ...(standIn
        ? {
            standIn: {
              ...standIn,
              throughputRatio: round(standIn.requestsPerSecond / baseline.requestsPerSecond, 3),
            },
          }
        : {}),
    };
    rows.push(row);
    const lines: [string, Measured, number | undefined][] = [
      ['baseline', baseline, undefined],
      ['meshwarden', meshwarden, row.throughputRatio],
    ];
    if (row.standIn) lines.push(['+ marker', row.standIn, row.standIn.throughputRatio]);
    for (const [target, r, ratio] of lines) {
      const errors = r.errors + r.non2xx > 0 ? `  (${r.errors} errors, ${r.non2xx} non-2xx)` : '';
      log(
        `${pad(target === 'baseline' ? `${w.name} (${kb(w.body)})` : '', 40)}${pad(target, 12)}${lpad(fmt(r.requestsPerSecond, 0), 9)}${lpad(fmt(r.p50), 8)}${lpad(fmt(r.p99), 8)}${lpad(fmt(r.max), 8)}${lpad(`${fmt(r.peakRssMb, 0)} MB`, 10)}${lpad(fmt(r.cpuUsPerRequest, 0), 12)}${lpad(ratio === undefined ? '' : `${fmt(ratio * 100, 0)}%`, 9)}${errors}`,
      );
    }
    if (n > 1)
      log(
        `${pad('', 40)}ratios over ${n} alternating rounds: ${runs.map((r) => `${fmt(r.ratio * 100, 0)}%`).join(', ')} (median shown)`,
      );
  }
  if (rows.some((r) => r.standIn))
    log(
      '+ marker: the same server with a stand-in sidecar-marker mutator registered (no mutating rule is yet)',
    );
  log();
  return rows;
}

async function pacedTable(): Promise<
  Record<string, { baseline: PacedResult; meshwarden: PacedResult }>
> {
  const rate = 1000;
  const pacedSeconds = quick ? 5 : 20;
  log(
    `## Paced: ${rate} req/s for ${pacedSeconds} s over 8 keep-alive connections (own client, hrtime)`,
  );
  log(
    `${pad('workload', 24)}${pad('target', 12)}${lpad('p50 ms', 9)}${lpad('p99 ms', 9)}${lpad('max ms', 9)}${lpad('req/s', 8)}${lpad('queued', 8)}`,
  );
  const out: Record<string, { baseline: PacedResult; meshwarden: PacedResult }> = {};
  for (const w of workloads().filter(
    (x) => x.name === 'validate-deployment' || x.name === 'mutate-deployment',
  )) {
    const run = async (target: Target) =>
      (
        await withServer(target, async (server) => {
          await check(server.port, w);
          await throughput({
            port: server.port,
            requests: [{ path: `/${w.endpoint}`, body: w.body }],
            connections,
            seconds: warmSeconds,
          });
          return paced({
            port: server.port,
            path: `/${w.endpoint}`,
            body: w.body,
            rate,
            seconds: pacedSeconds,
            connections: 8,
          });
        })
      ).result;
    const baseline = await run('baseline');
    const meshwarden = await run('meshwarden');
    out[w.name] = { baseline, meshwarden };
    for (const [target, r] of [
      ['baseline', baseline],
      ['meshwarden', meshwarden],
    ] as const)
      log(
        `${pad(target === 'baseline' ? w.name : '', 24)}${pad(target, 12)}${lpad(fmt(r.p50, 3), 9)}${lpad(fmt(r.p99, 3), 9)}${lpad(fmt(r.max, 2), 9)}${lpad(fmt(r.achievedRate, 0), 8)}${lpad(String(r.queued), 8)}${r.failures > 0 ? `  (${r.failures} failed)` : ''}`,
      );
    log(`${pad('', 24)}p99 difference: ${fmt(meshwarden.p99 - baseline.p99, 3)} ms`);
  }
  log();
  return out;
}

interface GrowthPoint {
  label: string;
  bytes: number;
  baseline: { p50: number; p99: number };
  validate: { p50: number; p99: number };
  mutate: { p50: number; p99: number };
}

async function growth(
  title: string,
  points: { label: string; body: Buffer }[],
): Promise<GrowthPoint[]> {
  log(`## Growth: ${title} (one request at a time, one keep-alive connection)`);
  const measure = async (target: Target, endpoint: string) =>
    (
      await withServer(target, async (server) => {
        const out: { p50: number; p99: number }[] = [];
        for (const p of points) {
          const args = { port: server.port, path: `/${endpoint}`, body: p.body };
          await check(server.port, { endpoint, body: p.body });
          const big = p.body.length > 512 * 1024;
          await sequential({
            ...args,
            minRequests: big ? 3 : 50,
            maxRequests: big ? 5 : 200,
            seconds: 0.3,
          });
          const s = await sequential({
            ...args,
            minRequests: big ? 30 : 300,
            maxRequests: quick ? 300 : 3000,
            seconds: quick ? 0.5 : 2,
          });
          out.push({ p50: round(s.p50, 3), p99: round(s.p99, 3) });
        }
        return out;
      })
    ).result;
  const baseline = await measure('baseline', 'validate');
  const validate = await measure('meshwarden', 'validate');
  const mutate = await measure('meshwarden', 'mutate');
  log(
    `${pad('', 12)}${lpad('bytes', 10)}${lpad('base p50', 10)}${lpad('p99', 8)}${lpad('validate p50', 14)}${lpad('p99', 8)}${lpad('mutate p50', 12)}${lpad('p99', 8)}${lpad('extra ms (mutate p50 − base p50)', 34)}`,
  );
  const rows: GrowthPoint[] = points.map((p, i) => ({
    label: p.label,
    bytes: p.body.length,
    baseline: baseline[i]!,
    validate: validate[i]!,
    mutate: mutate[i]!,
  }));
  for (const r of rows)
    log(
      `${pad(r.label, 12)}${lpad(String(r.bytes), 10)}${lpad(fmt(r.baseline.p50, 3), 10)}${lpad(fmt(r.baseline.p99, 3), 8)}${lpad(fmt(r.validate.p50, 3), 14)}${lpad(fmt(r.validate.p99, 3), 8)}${lpad(fmt(r.mutate.p50, 3), 12)}${lpad(fmt(r.mutate.p99, 3), 8)}${lpad(fmt(r.mutate.p50 - r.baseline.p50, 3), 34)}`,
    );
  log();
  return rows;
}

async function growthTables() {
  const sizes = quick ? [1, 64, 1024, 4096] : [1, 4, 16, 64, 256, 1024, 2048, 4096];
  const bySize = await growth(
    'latency against object size (Deployment)',
    sizes.map((k) => {
      const body = reviewBody(deploymentReview(deploymentOfSize('reviews-sized', k * 1024)));
      return { label: kb(body), body };
    }),
  );
  const counts = quick ? [2, 50, 200] : [2, 5, 10, 20, 50, 100, 200];
  const byBackends = await growth(
    'latency against backend count (TrafficSplit UPDATE)',
    counts.map((n) => ({ label: `${n} backends`, body: reviewBody(trafficSplitUpdate(n)) })),
  );
  return { bySize, byBackends };
}

/** How long a 4 MB review holds up small ones, against the time JSON.parse takes for it alone. */
async function stall() {
  log('## Head-of-line: small reviews while 4 MB reviews arrive');
  const bigBody = reviewBody(deploymentReview(deploymentOfSize('reviews-huge', 4 * 1024 * 1024)));
  const small = workloads()[0]!;
  const parseMs: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = process.hrtime.bigint();
    JSON.parse(bigBody.toString('utf8'));
    parseMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const out: Record<string, unknown> = {
    bigBytes: bigBody.length,
    parseMsInRunner: round(median(parseMs), 2),
  };
  for (const target of ['baseline', 'meshwarden'] as const) {
    for (const endpoint of target === 'baseline' ? ['validate'] : ['validate', 'mutate']) {
      const { result } = await withServer(target, async (server) => {
        const quiet = await sequential({
          port: server.port,
          path: '/validate',
          body: small.body,
          minRequests: 500,
          maxRequests: 2000,
          seconds: 1,
        });
        const bigClient = await KeepAliveClient.connect(server.port);
        let stop = false;
        const bigTimes: number[] = [];
        const bigLoop = (async () => {
          while (!stop) {
            const t0 = process.hrtime.bigint();
            await bigClient.post(`/${endpoint}`, bigBody);
            bigTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
          }
        })();
        const loaded = await sequential({
          port: server.port,
          path: '/validate',
          body: small.body,
          minRequests: 300,
          maxRequests: 100_000,
          seconds: quick ? 2 : 5,
        });
        stop = true;
        await bigLoop;
        bigClient.close();
        return { quiet, loaded, big: { count: bigTimes.length, p50: round(median(bigTimes), 1) } };
      });
      const key = `${target}-${endpoint}`;
      out[key] = {
        smallQuietP99: round(result.quiet.p99, 3),
        smallLoadedP50: round(result.loaded.p50, 3),
        smallLoadedP99: round(result.loaded.p99, 3),
        smallLoadedMax: round(result.loaded.max, 2),
        bigRequests: result.big.count,
        bigP50: result.big.p50,
      };
      log(
        `${pad(key, 22)} small p99 alone ${fmt(result.quiet.p99, 3)} ms; with 4 MB reviews flowing: p50 ${fmt(result.loaded.p50, 3)}, p99 ${fmt(result.loaded.p99, 2)}, max ${fmt(result.loaded.max, 2)} ms; 4 MB review p50 ${fmt(result.big.p50, 1)} ms (${result.big.count})`,
      );
    }
  }
  log(
    `JSON.parse of the ${kb(bigBody)} body alone (in the bench process): ${fmt(median(parseMs), 1)} ms`,
  );
  log();
  return out;
}

async function engineSection() {
  log('## Mutate path in the engine, in-process, with a stand-in sidecar-marker mutator');
  const sizes = quick ? [6, 1024] : [6, 64, 1024, 4096];
  const rows = await engineCosts(
    sizes.map((k) => ({
      label: k >= 1024 ? `${k / 1024} MB` : `${k} KB`,
      body: reviewBody(deploymentReview(deploymentOfSize('reviews-engine', k * 1024))),
    })),
    quick,
  );
  log(
    `${pad('Deployment', 12)}${lpad('review µs', 12)}${lpad('previous clone+diff+check µs', 30)}`,
  );
  for (const r of rows)
    log(
      `${pad(r.label, 12)}${lpad(fmt(r.engineUs, 1), 12)}${lpad(typeof r.previousUs === 'number' ? fmt(r.previousUs, 1) : r.previousUs, 30)}`,
    );
  log();
  return rows;
}

async function longRun() {
  log(
    `## Long run: ${longAmount.toLocaleString('en-US')} requests (mixed small workloads), meshwarden RSS`,
  );
  const mix = workloads()
    .filter((w) => w.body.length < 512 * 1024)
    .map((w) => ({ path: `/${w.endpoint}`, body: w.body }));
  const samples: { t: number; done: number; rssMb: number }[] = [];
  const { result, peakRssMb } = await withServer('meshwarden', async (server) => {
    const start = Date.now();
    let done = 0;
    const timer = setInterval(() => {
      samples.push({ t: (Date.now() - start) / 1000, done, rssMb: round(server.rss().current, 1) });
    }, 1000);
    try {
      return await throughput({
        port: server.port,
        requests: mix,
        connections,
        amount: longAmount,
        onProgress: (n) => {
          done = n;
          if (n % Math.max(10_000, Math.round(longAmount / 10 / 10_000) * 10_000) === 0)
            log(`  ${n.toLocaleString('en-US')} requests, RSS ${fmt(server.rss().current, 0)} MB`);
        },
      });
    } finally {
      clearInterval(timer);
    }
  });
  // Trend over the second half (after warm-up and heap growth settle): MB per 100k requests.
  const half = samples.slice(Math.floor(samples.length / 2));
  const mbPer100k = slope(half.map((s) => [s.done / 100_000, s.rssMb] as const));
  const quarter = Math.max(1, Math.floor(samples.length / 4));
  const mean = (xs: typeof samples) => xs.reduce((a, s) => a + s.rssMb, 0) / Math.max(1, xs.length);
  const secondQuarter = mean(samples.slice(quarter, 2 * quarter));
  const lastQuarter = mean(samples.slice(-quarter));
  const out = {
    requests: result.total,
    requestsPerSecond: round(result.requestsPerSecond, 0),
    p99: result.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    peakRssMb: round(peakRssMb, 1),
    secondQuarterMeanRssMb: round(secondQuarter, 1),
    lastQuarterMeanRssMb: round(lastQuarter, 1),
    secondHalfSlopeMbPer100k: round(mbPer100k, 2),
    samples,
  };
  log(
    `requests ${result.total.toLocaleString('en-US')} at ${fmt(result.requestsPerSecond, 0)} req/s, errors ${result.errors}, non-2xx ${result.non2xx}; peak RSS ${fmt(peakRssMb, 1)} MB; mean RSS 2nd quarter ${fmt(secondQuarter, 1)} MB, last quarter ${fmt(lastQuarter, 1)} MB; 2nd-half slope ${fmt(mbPer100k, 2)} MB per 100k requests`,
  );
  log();
  return out;
}

async function startup() {
  log('## Start to ready (spawn to first 200 from /readyz)');
  for (let i = 0; i < (quick ? 3 : 7); i++) await withServer('meshwarden', () => Promise.resolve());
  const sorted = [...readySamples].sort((a, b) => a - b);
  const out = {
    samples: sorted.map((s) => round(s, 0)),
    medianMs: round(median(sorted), 0),
    maxMs: round(sorted.at(-1) ?? Number.NaN, 0),
  };
  log(`${sorted.length} starts: median ${fmt(out.medianMs, 0)} ms, max ${fmt(out.maxMs, 0)} ms`);
  log();
  return out;
}

async function profile() {
  const dir = join(repoRoot, 'bench', 'profiles');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const chosen = workloads().filter((w) =>
    [
      'validate-deployment',
      'mutate-deployment',
      'mutate-deployment-1mb',
      'validate-trafficsplit-50',
    ].includes(w.name),
  );
  let requests = 0;
  await withServer(
    flags.target === 'baseline' || flags.target === 'stand-in' ? flags.target : 'meshwarden',
    async (server) => {
      for (const w of chosen) {
        log(`profiling ${w.name} for ${seconds} s`);
        const r = await throughput({
          port: server.port,
          requests: [{ path: `/${w.endpoint}`, body: w.body }],
          connections,
          seconds,
        });
        requests += r.total;
      }
    },
    ['--cpu-prof', '--cpu-prof-dir', dir],
  );
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written to ${dir}`);
  const summary = summarizeProfile(join(dir, file), 30);
  // Per request: the profile's whole span (start-up included) spread over the requests served.
  const perRequest = (percent: number) => fmt((percent / 100) * (summary.durationUs / requests), 1);
  log(`\n${requests.toLocaleString('en-US')} requests; self time in % and in µs per request`);
  log(`\n## Self time by area (${join(dir, file)})`);
  for (const a of summary.areas)
    log(`${lpad(fmt(a.selfPercent, 1), 6)}% ${lpad(perRequest(a.selfPercent), 7)} µs  ${a.area}`);
  log('\n## Self time by function (inlined callees count in their caller)');
  for (const f of summary.functions)
    log(
      `${lpad(fmt(f.selfPercent, 1), 6)}% ${lpad(perRequest(f.selfPercent), 7)} µs  ${f.name}  ${f.where}`,
    );
}

try {
  log(
    `meshwarden benchmark: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}${quick ? ' (quick run: figures not comparable)' : ''}\n`,
  );
  if (flags.profile) {
    await profile();
  } else {
    if (sections.has('main')) results.main = await mainTable();
    if (sections.has('paced')) results.paced = await pacedTable();
    if (sections.has('growth')) results.growth = await growthTables();
    if (sections.has('stall')) results.stall = await stall();
    if (sections.has('engine')) results.engine = await engineSection();
    if (sections.has('long')) results.longRun = await longRun();
    if (sections.has('startup')) results.startup = await startup();
    (results.machine as Record<string, unknown>).loadAverageAtEnd = loadavg().map((l) => round(l));
    results.targets = targets(results);
    log('## Targets');
    for (const t of results.targets as Target_[])
      log(`${t.met ? 'met    ' : 'MISSED '} ${pad(t.name, 52)} ${t.measured}`);
    const out = join(repoRoot, 'bench', 'results.json');
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    log(
      `\nload average at end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; results in ${out}`,
    );
  }
  rmSync(work, { recursive: true, force: true });
} catch (error) {
  process.stderr.write(`benchmark failed; server logs kept in ${work}\n`);
  throw error;
}

interface Target_ {
  name: string;
  measured: string;
  met: boolean;
}

function targets(r: Record<string, unknown>): Target_[] {
  const out: Target_[] = [];
  const main = r.main as MainRow[] | undefined;
  const row = (name: string) => main?.find((m) => m.workload === name);
  for (const name of ['validate-deployment', 'mutate-deployment']) {
    const m = row(name);
    if (m)
      out.push({
        name: `${name}: throughput ≥ 70% of baseline`,
        measured: `${fmt(m.throughputRatio * 100, 0)}% (${fmt(m.meshwarden.requestsPerSecond, 0)} vs ${fmt(m.baseline.requestsPerSecond, 0)} req/s)`,
        met: m.throughputRatio >= 0.7,
      });
  }
  const marker = row('mutate-deployment')?.standIn;
  if (marker)
    out.push({
      name: 'projection: mutate with a marker mutator ≥ 70%',
      measured: `${fmt(marker.throughputRatio * 100, 0)}% (stand-in rule; none registered yet)`,
      met: marker.throughputRatio >= 0.7,
    });
  const pacedRows = r.paced as
    Record<string, { baseline: PacedResult; meshwarden: PacedResult }> | undefined;
  for (const [name, p] of Object.entries(pacedRows ?? {})) {
    const diff = p.meshwarden.p99 - p.baseline.p99;
    out.push({
      name: `${name} at 1,000 req/s: p99 ≤ baseline p99 + 1 ms`,
      measured: `${fmt(p.meshwarden.p99, 3)} vs ${fmt(p.baseline.p99, 3)} ms (+${fmt(diff, 3)} ms)`,
      met: diff <= 1,
    });
  }
  for (const name of ['validate-deployment-1mb', 'mutate-deployment-1mb']) {
    const m = row(name);
    if (m)
      out.push({
        name: `${name}: p99 ≤ 2 × baseline p99`,
        measured: `${fmt(m.meshwarden.p99)} vs ${fmt(m.baseline.p99)} ms (${fmt(m.p99Ratio)}×)`,
        met: m.p99Ratio <= 2,
      });
  }
  const long = r.longRun as
    | {
        requests: number;
        peakRssMb: number;
        secondQuarterMeanRssMb: number;
        lastQuarterMeanRssMb: number;
        secondHalfSlopeMbPer100k: number;
      }
    | undefined;
  if (long) {
    out.push({
      name: `peak RSS ≤ 150 MB after ${long.requests.toLocaleString('en-US')} requests`,
      measured: `${fmt(long.peakRssMb, 1)} MB`,
      met: long.peakRssMb <= 150,
    });
    const growthMb = long.lastQuarterMeanRssMb - long.secondQuarterMeanRssMb;
    out.push({
      name: 'no upward RSS trend (last vs 2nd quarter mean)',
      measured: `${growthMb >= 0 ? '+' : ''}${fmt(growthMb, 1)} MB; slope ${fmt(long.secondHalfSlopeMbPer100k, 2)} MB/100k`,
      met: growthMb <= Math.max(5, 0.05 * long.secondQuarterMeanRssMb),
    });
  }
  const start = r.startup as { medianMs: number; maxMs: number } | undefined;
  if (start)
    out.push({
      name: 'start to ready ≤ 1.5 s',
      measured: `median ${fmt(start.medianMs, 0)} ms, max ${fmt(start.maxMs, 0)} ms`,
      met: start.maxMs <= 1500,
    });
  return out;
}
