import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, fmt, log, lpad, pad, type Harness } from './harness.js';
import { throughput } from './load.js';
import type { Target } from './processes.js';
import { summarizeProfile, type ProfileSummary } from './profile.js';
import type { Workload } from './workloads.js';

export interface WorkloadProfile {
  readonly workload: string;
  readonly requests: number;
  /** CPU µs per request from /proc over the measured seconds (profiler overhead included). */
  readonly cpuUsPerRequest: number;
  readonly summary: ProfileSummary;
}

/**
 * `--profile`: one process per workload under `node --cpu-prof`, loaded as in the main table,
 * and where its CPU goes per request, by step of a review (see profile.ts).
 */
export async function profileWorkloads(
  harness: Harness,
  chosen: readonly Workload[],
  target: Target,
  dir: string,
): Promise<WorkloadProfile[]> {
  rmSync(dir, { recursive: true, force: true });
  const out: WorkloadProfile[] = [];
  for (const w of chosen) {
    const into = join(dir, w.name);
    mkdirSync(into, { recursive: true });
    log(`profiling ${w.name} (${target}) for ${harness.seconds} s`);
    let requests = 1;
    let cpuUs = 0;
    let measured = 0;
    const body = (await w.fresh?.()) ?? w.body;
    await harness.withServer(
      target,
      async (server) => {
        await check(server.port, { endpoint: w.endpoint, body });
        const requests_ = [{ path: `/${w.endpoint}`, body }];
        const { connections } = harness;
        const warm = await throughput({
          port: server.port,
          requests: requests_,
          connections,
          seconds: harness.warmSeconds,
        });
        const before = server.cpuMs();
        const r = await throughput({
          port: server.port,
          requests: requests_,
          connections,
          seconds: harness.seconds,
        });
        cpuUs = (server.cpuMs() - before) * 1000;
        measured = r.total;
        requests += warm.total + r.total;
      },
      ['--cpu-prof', '--cpu-prof-dir', into],
    );
    const file = readdirSync(into).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no profile written to ${into}`);
    out.push({
      workload: w.name,
      requests,
      cpuUsPerRequest: Math.round((cpuUs / Math.max(1, measured)) * 10) / 10,
      summary: summarizeProfile(join(into, file), requests, 15),
    });
  }
  writeFileSync(join(dir, 'summary.json'), `${JSON.stringify(out, null, 2)}\n`);
  printProfiles(out);
  return out;
}

function printProfiles(profiles: readonly WorkloadProfile[]): void {
  const steps = [...new Set(profiles.flatMap((p) => p.summary.steps.map((s) => s.step)))];
  const width = 14;
  log(
    "\n## CPU µs per request by step: share of the profile's busy samples (start-up left out) times the CPU µs/req /proc measured",
  );
  log(`${pad('step', 34)}${profiles.map((p) => lpad(short(p.workload), width)).join('')}`);
  for (const step of steps)
    log(
      `${pad(step, 34)}${profiles
        .map((p) => {
          const s = p.summary.steps.find((x) => x.step === step);
          const us = s ? (s.percent / 100) * p.cpuUsPerRequest : 0;
          return lpad(s ? `${fmt(us, 1)} (${fmt(s.percent, 0)}%)` : '-', width);
        })
        .join('')}`,
    );
  log(
    `${pad('busy µs/req in the profile (wall)', 34)}${profiles.map((p) => lpad(fmt(p.summary.busyUsPerRequest, 1), width)).join('')}`,
  );
  log(
    `${pad('CPU µs/req (/proc, measured part)', 34)}${profiles.map((p) => lpad(fmt(p.cpuUsPerRequest, 1), width)).join('')}`,
  );
  log(`${pad('requests', 34)}${profiles.map((p) => lpad(fmt(p.requests, 0), width)).join('')}`);
  for (const p of profiles) {
    log(`\n## ${p.workload}: self time by function (inlined callees count in their caller)`);
    for (const f of p.summary.functions)
      log(`${lpad(fmt(f.selfPercent, 1), 6)}%  ${f.name}  ${f.where}`);
  }
}

const short = (name: string) =>
  name
    .replace('validate-', 'v-')
    .replace('mutate-', 'm-')
    .replace('deployment', 'deploy')
    .replace('trafficsplit', 'ts')
    .replace('virtualservice', 'vs')
    .replace('httproute', 'hr')
    .replace('-update', '-upd');
