import { fmt, log, pad, signed } from './harness.js';
import type { PacedResult } from './load.js';
import type { MainRow } from './main-table.js';
import { median } from './stats.js';

/** One target of issue 17, against the floor measured in the same run. */
export interface TargetResult {
  readonly target: string;
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean | undefined;
}

export interface PacedRow {
  readonly workload: string;
  readonly rounds: readonly { baseline: PacedResult; meshwarden: PacedResult }[];
  /** Median over rounds of meshwarden's p99 minus the floor's, in ms. */
  readonly p99DiffMs: number;
}

export interface TargetInputs {
  readonly main?: readonly MainRow[];
  readonly paced?: readonly PacedRow[];
  readonly startup?: { readonly medianMs: number; readonly maxMs: number };
  readonly long?: {
    readonly requests: number;
    readonly peakRssMb: number;
    readonly secondQuarterMeanRssMb: number;
    readonly lastQuarterMeanRssMb: number;
  };
}

const pct = (ratio: number) => `${fmt(ratio * 100, 0)}%`;

/** The table of issue 17: each target, its figure in this run, met or missed. */
export function targets(r: TargetInputs): TargetResult[] {
  const out: TargetResult[] = [];
  const row = (name: string) => r.main?.find((m) => m.workload === name);
  const throughputTarget = (name: string, label: string, goal: number) => {
    const m = row(name);
    out.push(
      m === undefined
        ? { target: label, goal: `≥ ${goal.toFixed(2)}×`, measured: 'not run', met: undefined }
        : {
            target: label,
            goal: `≥ ${goal.toFixed(2)}× throughput`,
            measured: `${pct(m.throughputRatio)} (pairs ${m.rounds.map((x) => pct(x.ratio)).join(', ')}; CPU/req ${pct(m.cpuRatio)})`,
            met: m.throughputRatio >= goal,
          },
    );
  };
  throughputTarget('validate-deployment', 'validate Deployment (6 KB)', 0.8);
  throughputTarget('mutate-deployment', 'mutate Deployment (6 KB, patched)', 0.7);
  throughputTarget('validate-trafficsplit-update', 'TrafficSplit UPDATE', 0.7);
  throughputTarget('validate-virtualservice-update', 'VirtualService UPDATE', 0.7);
  throughputTarget('validate-httproute-update', 'HTTPRoute UPDATE', 0.7);
  throughputTarget('validate-trafficsplit-50', '50-backend split UPDATE', 0.5);
  const paced = r.paced ?? [];
  for (const p of paced)
    out.push({
      target: `${p.workload} p99 at a paced 1,000 req/s`,
      goal: '≤ floor + 0.5 ms',
      measured: `${signed(p.p99DiffMs, 3)} ms (rounds ${p.rounds.map((x) => `${fmt(x.meshwarden.p99, 2)} vs ${fmt(x.baseline.p99, 2)}`).join('; ')} ms; host steal ${fmt(Math.max(...p.rounds.map((x) => Math.max(x.meshwarden.stealMs, x.baseline.stealMs))), 0)} ms at most in a round)`,
      met: p.p99DiffMs <= 0.5,
    });
  if (paced.length === 0)
    out.push({
      target: 'p99 at a paced 1,000 req/s',
      goal: '',
      measured: 'not run',
      met: undefined,
    });
  const big = ['validate-deployment-1mb', 'mutate-deployment-1mb']
    .map(row)
    .filter((m) => m !== undefined);
  for (const m of big)
    out.push({
      target: `${m.workload} p99`,
      goal: '≤ 1.5× floor',
      // The median of the pairs' ratios, as for throughput; one pair's p99s beside it would not
      // give that ratio.
      measured: `${fmt(m.p99Ratio)}× (median of pairs ${m.rounds.map((r) => `${fmt(r.p99Ratio)}×`).join(', ')})`,
      met: m.p99Ratio <= 1.5,
    });
  for (const m of big)
    out.push({
      target: `${m.workload} peak RSS, 8 connections`,
      goal: '≤ floor + 40 MB',
      measured: `${signed(m.rssDiffMb)} MB (median of pairs; whole run ${signed(m.runRssDiffMb)}: ${fmt(m.runPeakRssMb.meshwarden, 0)} vs ${fmt(m.runPeakRssMb.baseline, 0)} MB)`,
      met: m.rssDiffMb <= 40,
    });
  if (big.length === 0)
    out.push({ target: '1 MB reviews', goal: '', measured: 'not run', met: undefined });
  out.push(
    r.startup === undefined
      ? { target: 'start to ready', goal: '≤ 1 s', measured: 'not run', met: undefined }
      : {
          target: 'start to ready',
          goal: '≤ 1 s (median)',
          measured: `median ${fmt(r.startup.medianMs, 0)} ms, max ${fmt(r.startup.maxMs, 0)} ms`,
          met: r.startup.medianMs <= 1000,
        },
  );
  const long = r.long;
  if (long) {
    // Standing targets from before issue 17: memory under a long run stays flat.
    out.push({
      target: `long run peak RSS (${fmt(long.requests, 0)} requests)`,
      goal: '≤ 150 MB',
      measured: `${fmt(long.peakRssMb, 1)} MB`,
      met: long.peakRssMb <= 150,
    });
    const growth = long.lastQuarterMeanRssMb - long.secondQuarterMeanRssMb;
    out.push({
      target: 'long run RSS trend (last vs 2nd quarter)',
      goal: '≤ +5 MB',
      measured: `${growth >= 0 ? '+' : ''}${fmt(growth, 1)} MB`,
      met: growth <= Math.max(5, 0.05 * long.secondQuarterMeanRssMb),
    });
  }
  return out;
}

export function printTargets(list: readonly TargetResult[]): void {
  log('## Issue 17 targets (ratios to the floor in this run)');
  log(`${pad('target', 46)}${pad('goal', 22)}${pad('', 8)}measured`);
  for (const t of list)
    log(
      `${pad(t.target, 46)}${pad(t.goal, 22)}${pad(t.met === undefined ? '-' : t.met ? 'met' : 'MISSED', 8)}${t.measured}`,
    );
  log();
}

/** Median p99 difference over paced rounds. */
export function pacedRow(
  workload: string,
  rounds: readonly { baseline: PacedResult; meshwarden: PacedResult }[],
): PacedRow {
  return {
    workload,
    rounds,
    p99DiffMs: median(rounds.map((x) => x.meshwarden.p99 - x.baseline.p99)),
  };
}
