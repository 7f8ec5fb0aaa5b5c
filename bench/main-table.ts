import {
  fmt,
  log,
  lpad,
  measurePairs,
  pad,
  signed,
  type Harness,
  type Measured,
} from './harness.js';
import { median, round } from './stats.js';
import { kb, type Workload } from './workloads.js';

/** One pair of slices, floor and meshwarden. */
export interface Round {
  readonly baseline: Measured;
  readonly meshwarden: Measured;
  /** meshwarden's req/s over the floor's. */
  readonly ratio: number;
  /** The floor's CPU µs per request over meshwarden's: the throughput ratio if CPU were all. */
  readonly cpuRatio: number;
  readonly p99Ratio: number;
  /** meshwarden's slice peak RSS minus the floor's. */
  readonly rssDiffMb: number;
}

export interface MainRow {
  readonly workload: string;
  readonly description: string;
  readonly bytes: number;
  /** The pair with the median throughput ratio (every pair is in `rounds`). */
  readonly baseline: Measured;
  readonly meshwarden: Measured;
  /** Medians over the pairs. */
  readonly throughputRatio: number;
  readonly cpuRatio: number;
  readonly p99Ratio: number;
  /** Median over the pairs of the slice peaks' difference. */
  readonly rssDiffMb: number;
  /** The peak of each whole process (warm-up and every slice), and their difference. */
  readonly runPeakRssMb: { readonly baseline: number; readonly meshwarden: number };
  readonly runRssDiffMb: number;
  readonly rounds: readonly Round[];
}

/** Slices of bodies this large are longer, so that each holds enough requests for a p99. */
const LARGE_BODY = 100_000;

function sliceSecondsFor(w: Workload, sliceSeconds: number): number {
  return w.body.length >= LARGE_BODY ? 3 * sliceSeconds : sliceSeconds;
}

/**
 * Throughput of each workload: floor and meshwarden started once, then `pairs` pairs of short
 * alternating slices (see `measurePairs`); the median of the per-pair ratios counts.
 */
export async function mainTable(
  harness: Harness,
  chosen: readonly Workload[],
  pairs: number,
  sliceSeconds: number,
): Promise<MainRow[]> {
  log(
    `## Throughput: autocannon, ${harness.connections} keep-alive connections, ${pairs} pairs of alternating floor/meshwarden slices of ${sliceSeconds} s (${3 * sliceSeconds} s for bodies over 100 KB) after ${harness.warmSeconds} s of warm-up each`,
  );
  log(
    `${pad('workload', 40)}${pad('target', 12)}${lpad('req/s', 9)}${lpad('p50 ms', 8)}${lpad('p99 ms', 8)}${lpad('max ms', 8)}${lpad('peak RSS', 10)}${lpad('CPU µs/req', 12)}${lpad('vs floor', 10)}`,
  );
  const rows: MainRow[] = [];
  for (const w of chosen) {
    const slices = await measurePairs(
      harness,
      [{ target: 'baseline' }, { target: 'meshwarden' }],
      w,
      pairs,
      sliceSecondsFor(w, sliceSeconds),
    );
    const runs: Round[] = slices.map(({ a: baseline, b: meshwarden }) => ({
      baseline,
      meshwarden,
      ratio: round(meshwarden.requestsPerSecond / baseline.requestsPerSecond, 3),
      cpuRatio: round(baseline.cpuUsPerRequest / meshwarden.cpuUsPerRequest, 3),
      p99Ratio: round(meshwarden.p99 / Math.max(baseline.p99, 1), 2),
      rssDiffMb: round(meshwarden.peakRssMb - baseline.peakRssMb, 1),
    }));
    const middle = [...runs].sort((a, b) => a.ratio - b.ratio)[Math.floor(runs.length / 2)]!;
    // The table's peak RSS is the whole process's, as the last pair read it.
    const last = runs[runs.length - 1]!;
    const shown = {
      baseline: { ...middle.baseline, peakRssMb: last.baseline.runPeakRssMb },
      meshwarden: { ...middle.meshwarden, peakRssMb: last.meshwarden.runPeakRssMb },
    };
    const row: MainRow = {
      workload: w.name,
      description: w.description,
      bytes: w.body.length,
      baseline: shown.baseline,
      meshwarden: shown.meshwarden,
      throughputRatio: median(runs.map((r) => r.ratio)),
      cpuRatio: median(runs.map((r) => r.cpuRatio)),
      p99Ratio: median(runs.map((r) => r.p99Ratio)),
      // One process's peak over a whole run is one sample of its rarest moment (the floor's
      // alone moved by 30 MB between identical runs); the pairs' median is the steady figure.
      rssDiffMb: median(runs.map((r) => r.rssDiffMb)),
      runPeakRssMb: {
        baseline: last.baseline.runPeakRssMb,
        meshwarden: last.meshwarden.runPeakRssMb,
      },
      runRssDiffMb: round(last.meshwarden.runPeakRssMb - last.baseline.runPeakRssMb, 1),
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
      `${pad('', 40)}pairs: throughput ${runs.map((r) => `${fmt(r.ratio * 100, 0)}%`).join(', ')}; CPU per request ${runs.map((r) => `${fmt(r.cpuRatio * 100, 0)}%`).join(', ')} (floor µs / meshwarden µs)`,
    );
    if (w.body.length >= LARGE_BODY)
      log(
        `${pad('', 40)}pairs: peak RSS of the slice, meshwarden minus floor ${runs.map((r) => `${signed(r.rssDiffMb)}`).join(', ')} MB`,
      );
  }
  log();
  return rows;
}

export interface CalibrationRow {
  readonly busyMicros: number;
  /** The busy floor's req/s over the plain floor's, median of the pairs. */
  readonly throughputRatio: number;
  readonly cpuRatio: number;
  /** CPU µs per request, medians: the plain floor and the busy one. */
  readonly floorCpuUs: number;
  readonly busyCpuUs: number;
}

/**
 * The floor against itself with `busyMicros` of CPU added per review, measured like the main
 * table: how many microseconds of work a ratio stands for on this machine.
 */
export async function calibration(
  harness: Harness,
  w: Workload,
  busy: readonly number[],
  pairs: number,
  sliceSeconds: number,
): Promise<CalibrationRow[]> {
  log(
    `## Calibration: the floor with busy work added per review (${w.name}), ${pairs} pairs of ${sliceSeconds} s slices`,
  );
  const rows: CalibrationRow[] = [];
  for (const busyMicros of busy) {
    const slices = await measurePairs(
      harness,
      [{ target: 'baseline' }, { target: 'baseline', busyMicros }],
      w,
      pairs,
      sliceSeconds,
    );
    const row: CalibrationRow = {
      busyMicros,
      throughputRatio: round(
        median(slices.map((p) => p.b.requestsPerSecond / p.a.requestsPerSecond)),
        3,
      ),
      cpuRatio: round(median(slices.map((p) => p.a.cpuUsPerRequest / p.b.cpuUsPerRequest)), 3),
      floorCpuUs: median(slices.map((p) => p.a.cpuUsPerRequest)),
      busyCpuUs: median(slices.map((p) => p.b.cpuUsPerRequest)),
    };
    rows.push(row);
    log(
      `floor + ${lpad(String(busyMicros), 3)} µs per review: ${fmt(row.throughputRatio * 100, 0)}% of the floor's throughput (CPU per request ${fmt(row.floorCpuUs, 0)} → ${fmt(row.busyCpuUs, 0)} µs)`,
    );
  }
  log();
  return rows;
}
