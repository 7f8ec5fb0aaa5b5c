import autocannon from 'autocannon';
import { KeepAliveClient } from './client.js';
import { summarize, type LatencySummary } from './stats.js';
import { readHostStealMs } from './processes.js';

export interface ThroughputResult {
  readonly requestsPerSecond: number;
  readonly total: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly errors: number;
  readonly non2xx: number;
}

/** autocannon with keep-alive connections for a fixed time (or a fixed number of requests). */
export async function throughput(options: {
  port: number;
  requests: readonly { path: string; body: Buffer }[];
  connections: number;
  seconds?: number;
  amount?: number;
  onProgress?: (done: number) => void;
}): Promise<ThroughputResult> {
  const first = options.requests[0];
  if (!first) throw new Error('no requests');
  let finished!: (result: autocannon.Result) => void;
  let failed!: (error: Error) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finished = resolve;
    failed = reject;
  });
  const options_: autocannon.Options = {
    url: `https://127.0.0.1:${options.port}${first.path}`,
    connections: options.connections,
    pipelining: 1,
    ...(options.amount === undefined
      ? { duration: options.seconds ?? 10 }
      : { amount: options.amount }),
    timeout: 30,
    requests: options.requests.map((r) => ({
      method: 'POST' as const,
      path: r.path,
      body: r.body,
      headers: { 'content-type': 'application/json' },
    })),
  };
  const instance = autocannon(options_, (error, result) => {
    if (error) failed(error as Error);
    else finished(result);
  });
  if (options.onProgress) {
    let count = 0;
    const report = options.onProgress;
    instance.on('response', () => {
      count++;
      if (count % 10_000 === 0) report(count);
    });
  }
  const result = await done;
  return {
    requestsPerSecond: result.requests.total / result.duration,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

export interface PacedResult extends LatencySummary {
  readonly rate: number;
  readonly achievedRate: number;
  /** Times a request was due while every connection was busy (it then waited for one). */
  readonly queued: number;
  readonly failures: number;
  /** Host CPU time stolen by the hypervisor during the run, in ms (a p99 outlier's usual cause). */
  readonly stealMs: number;
}

/**
 * An open-loop client of our own: sends at a fixed rate over keep-alive connections and times
 * each request with process.hrtime from its write to its last response byte.
 */
export async function paced(options: {
  port: number;
  path: string;
  body: Buffer;
  rate: number;
  seconds: number;
  connections: number;
}): Promise<PacedResult> {
  const clients = await Promise.all(
    Array.from({ length: options.connections }, () => KeepAliveClient.connect(options.port)),
  );
  const idle = [...clients];
  const total = Math.round(options.rate * options.seconds);
  const intervalNs = 1e9 / options.rate;
  const latencies: number[] = [];
  let sent = 0;
  let done = 0;
  let queued = 0;
  let failures = 0;
  let backlog = 0;
  const stealBefore = readHostStealMs();
  const start = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    const send = (client: KeepAliveClient) => {
      sent++;
      const t0 = process.hrtime.bigint();
      client.post(options.path, options.body).then(
        (response) => {
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          if (response.status !== 200) failures++;
          finish(client);
        },
        () => {
          failures++;
          finish(client);
        },
      );
    };
    const finish = (client: KeepAliveClient) => {
      done++;
      if (backlog > 0) {
        backlog--;
        send(client);
      } else idle.push(client);
      if (done === total) resolve();
    };
    const tick = () => {
      const elapsed = Number(process.hrtime.bigint() - start);
      const due = Math.min(total, Math.floor(elapsed / intervalNs) + 1);
      while (sent + backlog < due) {
        const client = idle.pop();
        if (client) send(client);
        else {
          queued++;
          backlog++;
        }
      }
      if (sent + backlog < total) setTimeout(tick, 0);
    };
    tick();
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  for (const c of clients) c.close();
  return {
    ...summarize(latencies),
    rate: options.rate,
    achievedRate: total / seconds,
    queued,
    failures,
    stealMs: readHostStealMs() - stealBefore,
  };
}

/** One request at a time on one connection: latency of each request alone (the growth tables). */
export async function sequential(options: {
  port: number;
  path: string;
  body: Buffer;
  minRequests: number;
  maxRequests: number;
  seconds: number;
}): Promise<LatencySummary> {
  const client = await KeepAliveClient.connect(options.port);
  const latencies: number[] = [];
  const deadline = process.hrtime.bigint() + BigInt(Math.round(options.seconds * 1e9));
  try {
    while (
      latencies.length < options.maxRequests &&
      (latencies.length < options.minRequests || process.hrtime.bigint() < deadline)
    ) {
      const t0 = process.hrtime.bigint();
      const response = await client.post(options.path, options.body);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (response.status !== 200)
        throw new Error(`HTTP ${response.status}: ${response.body.toString().slice(0, 200)}`);
    }
  } finally {
    client.close();
  }
  return summarize(latencies);
}
