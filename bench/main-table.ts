import { fmt, log, lpad, pad, type Harness, type Measured } from './harness.js';
import { median, round } from './stats.js';
import { kb, type Workload } from './workloads.js';

export interface Round {
  readonly baseline: Measured;
  readonly meshwarden: Measured;
  /** meshwarden's req/s over the floor's. */
  readonly ratio: number;
  /** The floor's CPU µs per request over meshwarden's: the throughput ratio if CPU were all. */
  readonly cpuRatio: number;
  readonly p99Ratio: number;
  readonly rssDiffMb: number;
}

export interface MainRow {
  readonly workload: string;
  readonly description: string;
  readonly bytes: number;
  /** The round with the median throughput ratio (every round is in `rounds`). */
  readonly baseline: Measured;
  readonly meshwarden: Measured;
  /** Medians over the rounds. */
  readonly throughputRatio: number;
  readonly cpuRatio: number;
  readonly p99Ratio: number;
  readonly rssDiffMb: number;
  readonly rounds: readonly Round[];
}

/**
 * Throughput of each workload, floor and meshwarden in alternating rounds (a fresh process
 * each), so both see the same machine; the median of the per-round ratios counts.
 */
export async function mainTable(
  harness: Harness,
  chosen: readonly Workload[],
  rounds: number,
): Promise<MainRow[]> {
  log(
    `## Throughput: autocannon, ${harness.connections} keep-alive connections, ${harness.seconds} s per run, ${rounds} alternating floor/meshwarden rounds`,
  );
  log(
    `${pad('workload', 40)}${pad('target', 12)}${lpad('req/s', 9)}${lpad('p50 ms', 8)}${lpad('p99 ms', 8)}${lpad('max ms', 8)}${lpad('peak RSS', 10)}${lpad('CPU µs/req', 12)}${lpad('vs floor', 10)}`,
  );
  const rows: MainRow[] = [];
  for (const w of chosen) {
    const runs: Round[] = [];
    for (let i = 0; i < rounds; i++) {
      const baseline = await harness.measureThroughput('baseline', w);
      const meshwarden = await harness.measureThroughput('meshwarden', w);
      runs.push({
        baseline,
        meshwarden,
        ratio: round(meshwarden.requestsPerSecond / baseline.requestsPerSecond, 3),
        cpuRatio: round(baseline.cpuUsPerRequest / meshwarden.cpuUsPerRequest, 3),
        p99Ratio: round(meshwarden.p99 / Math.max(baseline.p99, 1), 2),
        rssDiffMb: round(meshwarden.peakRssMb - baseline.peakRssMb, 1),
      });
    }
    const shown = [...runs].sort((a, b) => a.ratio - b.ratio)[Math.floor(runs.length / 2)]!;
    const row: MainRow = {
      workload: w.name,
      description: w.description,
      bytes: w.body.length,
      baseline: shown.baseline,
      meshwarden: shown.meshwarden,
      throughputRatio: median(runs.map((r) => r.ratio)),
      cpuRatio: median(runs.map((r) => r.cpuRatio)),
      p99Ratio: median(runs.map((r) => r.p99Ratio)),
      rssDiffMb: median(runs.map((r) => r.rssDiffMb)),
      rounds: runs,
    };
    rows.push(row);
    for (const [target, r] of [
      ['floor', shown.baseline],
      ['meshwarden', shown.meshwarden],
    ] as const) {
      const errors = r.errors + r.non2xx > 0 ? `  (${r.errors} errors, ${r.non2xx} non-2xx)` : '';
      const ratio = target === 'floor' ? '' : `${fmt(row.throughputRatio * 100, 0)}%`;
      log(
        `${pad(target === 'floor' ? `${w.name} (${kb(w.body)})` : '', 40)}${pad(target, 12)}${lpad(fmt(r.requestsPerSecond, 0), 9)}${lpad(fmt(r.p50), 8)}${lpad(fmt(r.p99), 8)}${lpad(fmt(r.max), 8)}${lpad(`${fmt(r.peakRssMb, 0)} MB`, 10)}${lpad(fmt(r.cpuUsPerRequest, 0), 12)}${lpad(ratio, 10)}${errors}`,
      );
    }
    log(
      `${pad('', 40)}rounds: throughput ${runs.map((r) => `${fmt(r.ratio * 100, 0)}%`).join(', ')}; CPU per request ${runs.map((r) => `${fmt(r.cpuRatio * 100, 0)}%`).join(', ')} (floor µs / meshwarden µs)`,
    );
  }
  log();
  return rows;
}
