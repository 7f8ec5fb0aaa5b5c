import { KeepAliveClient } from './client.js';
import { throughput, type ThroughputResult } from './load.js';
import { startServer, type ServerProcess, type SpawnOptions, type Target } from './processes.js';
import { round } from './stats.js';
import type { Workload } from './workloads.js';

/** Output helpers of the benchmark's tables. */
export const log = (line = '') => process.stdout.write(`${line}\n`);
export const fmt = (n: number, digits = 2) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '-';
export const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
export const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

export type Measured = ThroughputResult & { peakRssMb: number; cpuUsPerRequest: number };

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
  ): Promise<{ result: T; peakRssMb: number }> {
    const server = await startServer(target, { ...this.#spawn, nodeArgs });
    if (target !== 'stand-in' && nodeArgs.length === 0) this.ready[target].push(server.readyMs);
    try {
      const result = await fn(server);
      return { result, peakRssMb: server.rss().peak };
    } finally {
      await server.stop();
    }
  }

  /** One fresh process of `target`: warm-up, then `seconds` measured with autocannon. */
  async measureThroughput(target: Target, w: Workload): Promise<Measured> {
    const body = (await w.fresh?.()) ?? w.body;
    const { result, peakRssMb } = await this.withServer(target, async (server) => {
      await check(server.port, { endpoint: w.endpoint, body });
      const requests = [{ path: `/${w.endpoint}`, body }];
      const connections = this.connections;
      await throughput({ port: server.port, requests, connections, seconds: this.warmSeconds });
      const cpuBefore = server.cpuMs();
      const r = await throughput({
        port: server.port,
        requests,
        connections,
        seconds: this.seconds,
      });
      return { ...r, cpuUsPerRequest: round(((server.cpuMs() - cpuBefore) * 1000) / r.total, 1) };
    });
    return { ...result, peakRssMb: round(peakRssMb, 1) };
  }
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
