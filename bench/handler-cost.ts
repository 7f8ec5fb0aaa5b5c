import { EventEmitter } from 'node:events';
import { fstatSync } from 'node:fs';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Session } from 'node:inspector/promises';
import { pino } from 'pino';
import { AdmissionEngine } from '../src/admission/engine.js';
import { clipLogFields } from '../src/observability/log-fields.js';
import { createMetrics } from '../src/observability/metrics.js';
import { PolicyStore } from '../src/policy/store.js';
import { defaultRules } from '../src/rules/index.js';
import { createApp } from '../src/server/app.js';
import { Lifecycle } from '../src/server/lifecycle.js';
import { floorHandler } from './floor-handler.js';
import { median, round } from './stats.js';
import type { Workload } from './workloads.js';

export interface HandlerRow {
  readonly workload: string;
  /** Median µs per review through the floor's handler and through meshwarden's listener. */
  readonly floorUs: number;
  readonly meshwardenUs: number;
  readonly extraUs: number;
  /** The same, one review at a time, each after a system call and a sweep of 4 MB of memory. */
  readonly coldFloorUs: number;
  readonly coldMeshwardenUs: number;
  readonly coldExtraUs: number;
  /**
   * Bytes allocated per review, garbage included (V8's sampling heap profiler, every 128 bytes on
   * average): what the review makes the collector and the caches handle. Unlike the times, it
   * does not move with the machine's load.
   */
  readonly floorBytes: number;
  readonly meshwardenBytes: number;
}

/** V8's sampling heap profiler, keeping the samples of objects already collected. */
async function allocatedBytes(session: Session, run: () => Promise<void>): Promise<number> {
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 128,
    includeObjectsCollectedByMinorGC: true,
    includeObjectsCollectedByMajorGC: true,
  });
  await run();
  const { profile } = await session.post('HeapProfiler.stopSampling');
  let total = 0;
  const pending = [profile.head];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    total += node.selfSize;
    pending.push(...node.children);
  }
  return total;
}

/** Written to, a 64-byte line at a time, before each cold review: caches and TLB start empty. */
const SWEEP = new Float64Array((4 * 1024 * 1024) / 8);
let swept = 0;

function chill(): void {
  fstatSync(0);
  for (let i = 0; i < SWEEP.length; i += 8) swept += SWEEP[i]!++;
}

/** A request that has arrived whole: the listener sees its body in one chunk, then its end. */
class ArrivedRequest extends EventEmitter {
  readonly method = 'POST';
  readonly complete = true;
  readonly headers: Record<string, string>;
  constructor(
    readonly url: string,
    length: number,
  ) {
    super();
    this.headers = { 'content-type': 'application/json', 'content-length': String(length) };
  }
}

/** Takes the answer and drops it: what it costs to write to a socket is not counted here. */
class DroppedResponse {
  headersSent = false;
  answered = 0;
  setHeader(): this {
    return this;
  }
  writeHead(): this {
    return this;
  }
  end(): this {
    this.headersSent = true;
    this.answered++;
    return this;
  }
}

/**
 * meshwarden's request listener (production rules, metrics and info logging to a discarding
 * destination) against the floor's handler, in one process with no TLS and no sockets: the
 * microseconds meshwarden adds to a review, apart from what the machine makes of them.
 */
export async function handlerCosts(
  chosen: readonly Workload[],
  quick: boolean,
): Promise<HandlerRow[]> {
  const logger = pino(
    { level: 'info', formatters: { log: clipLogFields } },
    pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 }),
  );
  const lifecycle = new Lifecycle();
  lifecycle.tlsLoaded = true;
  const engine = new AdmissionEngine({ rules: defaultRules(), policy: new PolicyStore(), logger });
  const meshwarden = createApp({ engine, metrics: createMetrics(), logger, lifecycle });
  const floor = floorHandler();
  const rows: HandlerRow[] = [];
  const session = new Session();
  session.connect();
  const batch = quick ? 200 : 2000;
  const batches = quick ? 4 : 30;
  for (const w of chosen) {
    const body = (await w.fresh?.()) ?? w.body;
    const url = `/${w.endpoint}?timeout=10s`;
    const copies = Array.from({ length: 16 }, () => Buffer.from(body));
    const response = new DroppedResponse();
    const call = (listener: RequestListener, raw: Buffer) => {
      const req = new ArrivedRequest(url, raw.length);
      listener(req as unknown as IncomingMessage, response as unknown as ServerResponse);
      req.emit('data', raw);
      req.emit('end');
    };
    // meshwarden judges and answers a turn's reviews together (turn-batch.ts): reviews arrive 8
    // to a turn, as on the benchmark's 8 connections, on both sides.
    const timeBatch = async (listener: RequestListener) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) {
        call(listener, copies[i & 15]!);
        if ((i & 7) === 7) await new Promise((resolve) => setImmediate(resolve));
      }
      await new Promise((resolve) => setImmediate(resolve));
      return Number(process.hrtime.bigint() - start) / 1e3 / batch;
    };
    for (let i = 0; i < 5; i++) {
      await timeBatch(meshwarden);
      await timeBatch(floor);
    }
    const m: number[] = [];
    const f: number[] = [];
    for (let i = 0; i < batches; i++) {
      m.push(await timeBatch(meshwarden));
      f.push(await timeBatch(floor));
    }
    if (response.answered !== 2 * batch * (batches + 5))
      throw new Error(`${w.name}: a review was not answered within its turn`);
    // In a server, between two reviews the loop reads sockets and decrypts TLS: what a review
    // costs when it starts cold is what the machine makes of its footprint.
    const timeCold = async (listener: RequestListener, i: number) => {
      chill();
      const start = process.hrtime.bigint();
      call(listener, copies[i & 15]!);
      await new Promise((resolve) => setImmediate(resolve));
      return Number(process.hrtime.bigint() - start) / 1e3;
    };
    const cm: number[] = [];
    const cf: number[] = [];
    for (let i = 0; i < (quick ? 40 : 400); i++) {
      cm.push(await timeCold(meshwarden, i));
      cf.push(await timeCold(floor, i));
    }
    const perReview = async (listener: RequestListener) =>
      Math.round(
        (await allocatedBytes(session, async () => void (await timeBatch(listener)))) / batch,
      );
    const meshwardenBytes = await perReview(meshwarden);
    const floorBytes = await perReview(floor);
    const floorUs = round(median(f), 1);
    const meshwardenUs = round(median(m), 1);
    const coldFloorUs = round(median(cf), 1);
    const coldMeshwardenUs = round(median(cm), 1);
    rows.push({
      workload: w.name,
      floorUs,
      meshwardenUs,
      extraUs: round(meshwardenUs - floorUs, 1),
      coldFloorUs,
      coldMeshwardenUs,
      coldExtraUs: round(coldMeshwardenUs - coldFloorUs, 1),
      floorBytes,
      meshwardenBytes,
    });
  }
  session.disconnect();
  logger.flush();
  if (swept < 0) throw new Error('unreachable: keeps the sweep from being optimized away');
  return rows;
}
