import { KeepAliveClient } from './client.js';
import { engineCosts } from './engine.js';
import { handlerCosts } from './handler-cost.js';
import { check, fmt, log, lpad, pad, type Harness } from './harness.js';
import { sequential, throughput } from './load.js';
import type { Target } from './processes.js';
import { median, round, slope } from './stats.js';
import {
  deploymentOfSize,
  deploymentReview,
  kb,
  reviewBody,
  trafficSplitUpdate,
  workloads,
} from './workloads.js';

/** The sections of `npm run bench` besides the main table, the paced table and --profile. */
export interface SectionContext {
  readonly harness: Harness;
  readonly quick: boolean;
  readonly connections: number;
  readonly longAmount: number;
}

interface GrowthPoint {
  label: string;
  bytes: number;
  baseline: { p50: number; p99: number };
  validate: { p50: number; p99: number };
  mutate: { p50: number; p99: number };
}

async function growth(
  ctx: SectionContext,
  title: string,
  points: { label: string; body: Buffer }[],
): Promise<GrowthPoint[]> {
  log(`## Growth: ${title} (one request at a time, one keep-alive connection)`);
  const measure = async (target: Target, endpoint: string) =>
    (
      await ctx.harness.withServer(target, async (server) => {
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
            maxRequests: ctx.quick ? 300 : 3000,
            seconds: ctx.quick ? 0.5 : 2,
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

export async function growthTables(ctx: SectionContext) {
  const sizes = ctx.quick ? [1, 64, 1024, 4096] : [1, 4, 16, 64, 256, 1024, 2048, 4096];
  const bySize = await growth(
    ctx,
    'latency against object size (Deployment)',
    sizes.map((k) => {
      const body = reviewBody(deploymentReview(deploymentOfSize('reviews-sized', k * 1024)));
      return { label: kb(body), body };
    }),
  );
  const counts = ctx.quick ? [2, 50, 200] : [2, 5, 10, 20, 50, 100, 200];
  const byBackends = await growth(
    ctx,
    'latency against backend count (TrafficSplit UPDATE)',
    counts.map((n) => ({ label: `${n} backends`, body: reviewBody(trafficSplitUpdate(n)) })),
  );
  return { bySize, byBackends };
}

/** How long a 4 MB review holds up small ones, against the time JSON.parse takes for it alone. */
export async function stall(ctx: SectionContext) {
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
      const { result } = await ctx.harness.withServer(target, async (server) => {
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
          seconds: ctx.quick ? 2 : 5,
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

export async function engineSection(ctx: SectionContext) {
  log('## Mutate path in the engine, in-process, with a stand-in sidecar-marker mutator');
  const sizes = ctx.quick ? [6, 1024] : [6, 64, 1024, 4096];
  const rows = await engineCosts(
    sizes.map((k) => ({
      label: k >= 1024 ? `${k / 1024} MB` : `${k} KB`,
      body: reviewBody(deploymentReview(deploymentOfSize('reviews-engine', k * 1024))),
    })),
    ctx.quick,
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

/** meshwarden's listener against the floor's handler in-process, for the small workloads. */
export async function handlerSection(ctx: SectionContext) {
  log(
    "## Handler in-process: meshwarden's request listener against the floor's handler (no TLS, no sockets)",
  );
  const small = workloads().filter((w) => w.body.length < 100_000);
  const rows = await handlerCosts(small, ctx.quick);
  log(
    `${pad('', 34)}${pad('  in batches (warm)', 35)}${pad('  one at a time, cold (after a system call and a 4 MB sweep)', 37)}${pad('  KB allocated per review', 24)}`,
  );
  log(
    `${pad('workload', 34)}${lpad('floor µs', 10)}${lpad('meshwarden µs', 15)}${lpad('extra µs', 10)}${lpad('floor µs', 12)}${lpad('meshwarden µs', 15)}${lpad('extra µs', 10)}${lpad('floor', 9)}${lpad('meshwarden', 13)}`,
  );
  for (const r of rows)
    log(
      `${pad(r.workload, 34)}${lpad(fmt(r.floorUs, 1), 10)}${lpad(fmt(r.meshwardenUs, 1), 15)}${lpad(fmt(r.extraUs, 1), 10)}${lpad(fmt(r.coldFloorUs, 1), 12)}${lpad(fmt(r.coldMeshwardenUs, 1), 15)}${lpad(fmt(r.coldExtraUs, 1), 10)}${lpad(fmt(r.floorBytes / 1024, 1), 9)}${lpad(fmt(r.meshwardenBytes / 1024, 1), 13)}`,
    );
  log();
  return rows;
}

export async function longRun(ctx: SectionContext) {
  const { longAmount, connections } = ctx;
  log(
    `## Long run: ${longAmount.toLocaleString('en-US')} requests (mixed small workloads), meshwarden RSS`,
  );
  const mix = workloads()
    .filter((w) => w.body.length < 512 * 1024)
    .map((w) => ({ path: `/${w.endpoint}`, body: w.body }));
  const samples: { t: number; done: number; rssMb: number }[] = [];
  const { result, peakRssMb } = await ctx.harness.withServer('meshwarden', async (server) => {
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

export async function startup(ctx: SectionContext) {
  log('## Start to ready (spawn to first 200 from /readyz)');
  for (let i = 0; i < (ctx.quick ? 3 : 7); i++) {
    await ctx.harness.withServer('baseline', () => Promise.resolve());
    await ctx.harness.withServer('meshwarden', () => Promise.resolve());
  }
  const sorted = [...ctx.harness.ready.meshwarden].sort((a, b) => a - b);
  const floor = ctx.harness.ready.baseline;
  const out = {
    samples: sorted.map((s) => round(s, 0)),
    medianMs: round(median(sorted), 0),
    maxMs: round(sorted.at(-1) ?? Number.NaN, 0),
    floorMedianMs: round(median(floor), 0),
  };
  log(
    `${sorted.length} starts: median ${fmt(out.medianMs, 0)} ms, max ${fmt(out.maxMs, 0)} ms (the floor's bare HTTPS server, ${floor.length} starts: median ${fmt(out.floorMedianMs, 0)} ms)`,
  );
  log();
  return out;
}
