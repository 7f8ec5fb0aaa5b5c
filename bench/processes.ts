import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'node:https';
import { join } from 'node:path';

/** `stand-in`: meshwarden's server with a stand-in marker mutator added (see stand-in-server). */
export type Target = 'meshwarden' | 'baseline' | 'stand-in';

export interface ServerProcess {
  readonly target: Target;
  readonly port: number;
  readonly child: ChildProcess;
  /** Milliseconds from spawn until `/readyz` answered 200. */
  readonly readyMs: number;
  /** Resident set size now and at its peak (VmHWM, since start or the last `resetPeak`), in MB. */
  rss(): { current: number; peak: number };
  /** Starts a new peak from the current RSS; false where the kernel cannot (then it runs on). */
  resetPeak(): boolean;
  /** CPU time (user + system) the process has used so far, in milliseconds. */
  cpuMs(): number;
  stop(): Promise<number | null>;
}

export interface SpawnOptions {
  readonly repoRoot: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Where stdout and stderr go (the production log level is kept; never a pipe). */
  readonly logFile: string;
  readonly nodeArgs?: readonly string[];
  /** The floor only: microseconds of busy work added to every review (the calibration). */
  readonly busyMicros?: number;
}

/** A port free right now (the server binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Reads VmRSS and VmHWM of a process from /proc, in MB. */
export function readRss(pid: number): { current: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { current: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return { current: Number.NaN, peak: Number.NaN };
  }
}

/**
 * Resets a process's VmHWM to its current RSS (`5` to /proc/<pid>/clear_refs, Linux 4.0 on), so
 * each slice of a run reads its own peak.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** User plus system CPU time of a process from /proc/<pid>/stat, in milliseconds. */
export function readCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU time the hypervisor gave to other guests while this machine's processes were ready to run
 * (the `steal` column of /proc/stat, all CPUs), in milliseconds; NaN where it cannot be read.
 */
export function readHostStealMs(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const fields = line.trim().split(/\s+/);
    return (Number(fields[8]) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** Linux reports CPU time in clock ticks of 1/100 s on every common architecture. */
const CLOCK_TICKS = 100;

function readyz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false, agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => req.destroy());
    req.end();
  });
}

export async function startServer(target: Target, options: SpawnOptions): Promise<ServerProcess> {
  const port = await freePort();
  const args =
    target === 'meshwarden'
      ? [
          join(options.repoRoot, 'dist/src/cli/main.js'),
          'serve',
          '--port',
          String(port),
          '--cert',
          options.certFile,
          '--key',
          options.keyFile,
          '--drain-seconds',
          '0',
        ]
      : [
          join(options.repoRoot, `dist/bench/${target}-server.js`),
          String(port),
          options.certFile,
          options.keyFile,
          ...(options.busyMicros === undefined ? [] : [String(options.busyMicros)]),
        ];
  const out = openSync(options.logFile, 'a');
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...args], {
    cwd: options.repoRoot,
    stdio: ['ignore', out, out],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
  });
  closeSync(out);
  let exited = false;
  const exitCode = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  for (;;) {
    if (exited) throw new Error(`${target} exited before it was ready; see ${options.logFile}`);
    if (await readyz(port)) break;
    if (Number(process.hrtime.bigint() - started) > 30e9)
      throw new Error(`${target} not ready after 30 s; see ${options.logFile}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const readyMs = Number(process.hrtime.bigint() - started) / 1e6;
  const pid = child.pid ?? 0;
  return {
    target,
    port,
    child,
    readyMs,
    rss: () => readRss(pid),
    resetPeak: () => resetPeakRss(pid),
    cpuMs: () => readCpuMs(pid),
    async stop() {
      if (!exited) child.kill('SIGTERM');
      return exitCode;
    },
  };
}
