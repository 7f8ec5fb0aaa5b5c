import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateCertificates } from '../src/pki/issue.js';
import { writeCertificates } from '../src/pki/files.js';
import { check, fmt, Harness, log, lpad, pad } from './harness.js';
import { paced, throughput, type PacedResult } from './load.js';
import { calibration, mainTable } from './main-table.js';
import type { Target } from './processes.js';
import { profileWorkloads } from './profile-run.js';
import {
  engineSection,
  growthTables,
  handlerSection,
  longRun,
  stall,
  startup,
} from './sections.js';
import { round } from './stats.js';
import { pacedRow, printTargets, targets, type PacedRow } from './targets.js';
import { workloads } from './workloads.js';

/**
 * `npm run bench`: meshwarden's production build against a bare Node HTTPS floor, same
 * certificates, same payloads, in alternating rounds. Prints tables, the issue-17 targets with
 * the ratio per target, and writes bench/results.json.
 */

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    long: { type: 'string' },
    seconds: { type: 'string' },
    connections: { type: 'string', default: '8' },
    rounds: { type: 'string' },
    pairs: { type: 'string' },
    'slice-seconds': { type: 'string' },
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
  --seconds N       measured seconds per workload with --profile (default 10)
  --connections N   autocannon keep-alive connections (default 8)
  --pairs N         pairs of alternating floor/meshwarden slices per workload in the main
                    table and the calibration; the median ratio counts (default 12)
  --slice-seconds N seconds per slice (default 1; three times that for bodies over 100 KB)
  --rounds N        alternating floor/meshwarden rounds in the paced table (default 3)
  --only LIST       sections: main,calibration,paced,growth,stall,engine,handler,long,
                    startup (comma-separated)
  --profile         CPU-profile one process per workload (node --cpu-prof) and say where the
                    microseconds of a request go, by step
  --workloads LIST  workload names for the main table or --profile (default: all)
  --target T        with --profile: meshwarden (default), baseline, or stand-in (meshwarden
                    with a stand-in marker mutator registered)
`);
  process.exit(0);
}

/** Busy microseconds added to the floor in the calibration section. */
const CALIBRATION_MICROS = [5, 10, 20];
const calibrationWorkload = () => {
  const w = workloads().find((x) => x.name === 'validate-trafficsplit-update');
  if (!w) throw new Error('the calibration workload is missing');
  return w;
};

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const quick = flags.quick;
const seconds = Number(flags.seconds ?? (quick ? 3 : 10));
const warmSeconds = quick ? 1 : 3;
const connections = Number(flags.connections);
const rounds = Number(flags.rounds ?? (quick ? 1 : 3));
const pairs = Number(flags.pairs ?? (quick ? 2 : 12));
const sliceSeconds = Number(flags['slice-seconds'] ?? 1);
const longAmount = Number(flags.long ?? (flags.full ? 1_000_000 : quick ? 30_000 : 200_000));
const sections = new Set(
  (flags.only ?? 'main,calibration,paced,growth,stall,engine,handler,long,startup')
    .split(',')
    .map((s) => s.trim()),
);
const names = flags.workloads?.split(',').map((s) => s.trim());
const chosen = workloads().filter((w) => !names || names.includes(w.name));
if (names && chosen.length !== names.length)
  throw new Error(
    `unknown workload in --workloads; known: ${workloads()
      .map((w) => w.name)
      .join(', ')}`,
  );

const work = mkdtempSync(join(tmpdir(), 'meshwarden-bench-'));
const certs = await writeCertificates(join(work, 'certs'), await generateCertificates());
const harness = new Harness(
  { repoRoot, certFile: certs.cert, keyFile: certs.key, logFile: join(work, 'server.log') },
  { connections, seconds, warmSeconds },
);

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    model: cpus()[0]?.model,
    node: process.version,
    loadAverageAtStart: loadavg().map((l) => round(l)),
  },
  options: { quick, seconds, warmSeconds, connections, rounds, pairs, sliceSeconds, longAmount },
};

/** p99 at a fixed 1,000 req/s, floor and meshwarden in alternating rounds. */
async function pacedTable(): Promise<PacedRow[]> {
  const rate = 1000;
  const pacedSeconds = quick ? 5 : 10;
  log(
    `## Paced: ${rate} req/s for ${pacedSeconds} s over 8 keep-alive connections (own client, hrtime), ${rounds} alternating rounds`,
  );
  log(
    `${pad('workload', 24)}${pad('target', 12)}${lpad('p50 ms', 9)}${lpad('p99 ms', 9)}${lpad('max ms', 9)}${lpad('req/s', 8)}${lpad('queued', 8)}${lpad('steal ms', 10)}`,
  );
  const out: PacedRow[] = [];
  for (const w of workloads().filter(
    (x) => x.name === 'validate-deployment' || x.name === 'mutate-deployment',
  )) {
    const run = async (target: Target) =>
      (
        await harness.withServer(target, async (server) => {
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
    const list: { baseline: PacedResult; meshwarden: PacedResult }[] = [];
    for (let i = 0; i < rounds; i++) {
      const baseline = await run('baseline');
      const meshwarden = await run('meshwarden');
      list.push({ baseline, meshwarden });
      for (const [target, r] of [
        ['floor', baseline],
        ['meshwarden', meshwarden],
      ] as const)
        log(
          `${pad(target === 'floor' ? `${w.name} #${i + 1}` : '', 24)}${pad(target, 12)}${lpad(fmt(r.p50, 3), 9)}${lpad(fmt(r.p99, 3), 9)}${lpad(fmt(r.max, 2), 9)}${lpad(fmt(r.achievedRate, 0), 8)}${lpad(String(r.queued), 8)}${lpad(fmt(r.stealMs, 0), 10)}${r.failures > 0 ? `  (${r.failures} failed)` : ''}`,
        );
    }
    const row = pacedRow(w.name, list);
    out.push(row);
    log(`${pad('', 24)}p99 difference, median of rounds: ${fmt(row.p99DiffMs, 3)} ms`);
  }
  log();
  return out;
}

try {
  log(
    `meshwarden benchmark: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}${quick ? ' (quick run: figures not comparable)' : ''}\n`,
  );
  if (flags.profile) {
    const target =
      flags.target === 'baseline' || flags.target === 'stand-in' ? flags.target : 'meshwarden';
    await profileWorkloads(harness, chosen, target, join(repoRoot, 'bench', 'profiles'));
  } else {
    const ctx = { harness, quick, connections, longAmount };
    const main = sections.has('main')
      ? await mainTable(harness, chosen, pairs, sliceSeconds)
      : undefined;
    const calibrated = sections.has('calibration')
      ? await calibration(harness, calibrationWorkload(), CALIBRATION_MICROS, pairs, sliceSeconds)
      : undefined;
    results.calibration = calibrated;
    const pacedRows = sections.has('paced') ? await pacedTable() : undefined;
    results.main = main;
    results.paced = pacedRows;
    if (sections.has('growth')) results.growth = await growthTables(ctx);
    if (sections.has('stall')) results.stall = await stall(ctx);
    if (sections.has('engine')) results.engine = await engineSection(ctx);
    if (sections.has('handler')) results.handler = await handlerSection(ctx);
    const long = sections.has('long') ? await longRun(ctx) : undefined;
    results.longRun = long;
    const start = sections.has('startup') ? await startup(ctx) : undefined;
    results.startup = start;
    (results.machine as Record<string, unknown>).loadAverageAtEnd = loadavg().map((l) => round(l));
    const list = targets({
      ...(main ? { main } : {}),
      ...(pacedRows ? { paced: pacedRows } : {}),
      ...(start ? { startup: start } : {}),
      ...(long ? { long } : {}),
    });
    results.targets = list;
    printTargets(list);
    if (calibrated)
      log(
        `For scale, on this machine: ${calibrated.map((c) => `the floor with ${c.busyMicros} µs of busy work per review reaches ${fmt(c.throughputRatio * 100, 0)}%`).join('; ')}.`,
      );
    const out = join(repoRoot, 'bench', 'results.json');
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    log(
      `load average at end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; results in ${out}`,
    );
  }
  rmSync(work, { recursive: true, force: true });
} catch (error) {
  process.stderr.write(`benchmark failed; server logs kept in ${work}\n`);
  throw error;
}
