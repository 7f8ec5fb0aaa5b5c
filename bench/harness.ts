import { KeepAliveClient } from './client.js';
import { throughput, type ThroughputResult } from './load.js';
import { startServer, type ServerProcess, type SpawnOptions, type Target } from './processes.js';
import { round } from './stats.js';
import type { Workload } from './workloads.js';

/** Output helpers of the benchmark's tables. */
export const log = (line = '') => process.stdout.write(`${line}\n`);
export const fmt = (n: number, digits = 2) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '-';
/** A difference with its sign: `+12`, `−31`. */
export const signed = (n: number, digits = 0) => `${n < 0 ? '−' : '+'}${fmt(Math.abs(n), digits)}`;
export const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
export const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

export type Measured = ThroughputResult & {
  /** The peak RSS of this slice alone where the kernel can reset it, else of the run so far. */
  peakRssMb: number;
  /** The peak RSS of the process from its start to the end of this slice. */
  runPeakRssMb: number;
  cpuUsPerRequest: number;
};

/** Starts servers, records their start-to-ready times, and measures throughput on them. */
export class Harness {
  readonly #spawn: SpawnOptions;
  /** Start-to-ready of every meshwarden and baseline start without profiling, in ms. */
  readonly ready: Record<'meshwarden' | 'baseline', number[]> = { meshwarden: [], baseline: [] };
  readonly connections: number;
  readonly seconds: number;
  readonly warmSeconds: number;

  constructor(
    spawn: SpawnOptions,
    options: { connections: number; seconds: number; warmSeconds: number },
  ) {
    this.#spawn = spawn;
    this.connections = options.connections;
    this.seconds = options.seconds;
    this.warmSeconds = options.warmSeconds;
  }

  async withServer<T>(
    target: Target,
    fn: (server: ServerProcess) => Promise<T>,
    nodeArgs: readonly string[] = [],
    busyMicros?: number,
  ): Promise<{ result: T; peakRssMb: number }> {
    const server = await startServer(target, {
      ...this.#spawn,
      nodeArgs,
      ...(busyMicros === undefined ? {} : { busyMicros }),
    });
    if (target !== 'stand-in' && nodeArgs.length === 0 && busyMicros === undefined)
      this.ready[target].push(server.readyMs);
    try {
      const result = await fn(server);
      return { result, peakRssMb: server.rss().peak };
    } finally {
      await server.stop();
    }
  }
}

/** A server of a pair: meshwarden, or the floor with `busyMicros` of work added per review. */
export interface Contender {
  readonly target: Target;
  readonly busyMicros?: number;
}

/** One slice of each contender, in the order run. */
export interface SlicePair {
  readonly a: Measured;
  readonly b: Measured;
}

/**
 * Both contenders started once and warmed, then `pairs` pairs of `sliceSeconds` slices, the two
 * alternating (and which goes first alternating too). This machine changes speed for seconds at
 * a time; slices a second apart see the same machine, where runs of ten seconds in fresh
 * processes often did not. The body is made fresh for every slice (a route update carries the
 * weight-change stamp of its moment).
 */
export async function measurePairs(
  harness: Harness,
  contenders: readonly [Contender, Contender],
  w: Workload,
  pairs: number,
  sliceSeconds: number,
): Promise<SlicePair[]> {
  const [first, second] = contenders;
  // Peaks before the last reset, per process: a reset loses them from VmHWM.
  const runPeaks = new Map<ServerProcess, number>();
  const slice = async (server: ServerProcess, seconds: number): Promise<Measured> => {
    const body = (await w.fresh?.()) ?? w.body;
    const requests = [{ path: `/${w.endpoint}`, body }];
    runPeaks.set(server, Math.max(runPeaks.get(server) ?? 0, server.rss().peak));
    server.resetPeak();
    const cpuBefore = server.cpuMs();
    const r = await throughput({
      port: server.port,
      requests,
      connections: harness.connections,
      seconds,
    });
    const peak = server.rss().peak;
    return {
      ...r,
      cpuUsPerRequest: round(((server.cpuMs() - cpuBefore) * 1000) / r.total, 1),
      peakRssMb: round(peak, 1),
      runPeakRssMb: round(Math.max(runPeaks.get(server) ?? 0, peak), 1),
    };
  };
  const { result } = await harness.withServer(
    first.target,
    async (a) =>
      (
        await harness.withServer(
          second.target,
          async (b) => {
            for (const server of [a, b]) {
              await check(server.port, {
                endpoint: w.endpoint,
                body: (await w.fresh?.()) ?? w.body,
              });
              await slice(server, harness.warmSeconds);
            }
            const out: SlicePair[] = [];
            for (let i = 0; i < pairs; i++) {
              if (i % 2 === 0) {
                const sa = await slice(a, sliceSeconds);
                out.push({ a: sa, b: await slice(b, sliceSeconds) });
              } else {
                const sb = await slice(b, sliceSeconds);
                out.push({ a: await slice(a, sliceSeconds), b: sb });
              }
            }
            return out;
          },
          [],
          second.busyMicros,
        )
      ).result,
    [],
    first.busyMicros,
  );
  return result;
}

/** One request answered 200 with a response for the request's uid, or the run stops here. */
export async function check(
  port: number,
  workload: { endpoint: string; body: Buffer },
): Promise<void> {
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
