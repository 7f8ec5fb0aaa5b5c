import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface ProfileLine {
  readonly name: string;
  readonly where: string;
  readonly selfPercent: number;
}

export interface StepShare {
  readonly step: string;
  /** Share of the busy time (idle and start-up left out). */
  readonly percent: number;
  /** Microseconds of CPU per request. */
  readonly usPerRequest: number;
}

export interface ProfileSummary {
  /** Wall time the profile covers, in microseconds. */
  readonly durationUs: number;
  /** Busy time (not idle, not start-up) per request, in microseconds. */
  readonly busyUsPerRequest: number;
  readonly functions: ProfileLine[];
  /** Busy time by step of a review (see STEPS), most first. */
  readonly steps: StepShare[];
}

const DIST = /\/dist\/src\/([^?]+)\.js$/;

/** The source file of a frame inside dist/src (`server/review-handler`), or undefined. */
function srcOf(frame: CallFrame): string | undefined {
  return DIST.exec(frame.url)?.[1];
}

const inModule = (frame: CallFrame, ...names: string[]) =>
  names.some((n) => frame.url.includes(`/node_modules/${n}/`));

/**
 * The steps of a review, in priority order: a sample counts for the first step whose test
 * matches any frame of its stack, so JSON.stringify inside pino is logging, inside `sendJson`
 * response encoding; route reading inside the traffic model is route reading.
 */
const STEPS: readonly { readonly step: string; test(f: CallFrame): boolean }[] = [
  { step: 'idle', test: (f) => f.functionName === '(idle)' },
  { step: 'GC', test: (f) => f.functionName === '(garbage collector)' },
  {
    step: 'start-up (module loading)',
    test: (f) => f.url.startsWith('node:internal/modules') || f.functionName === 'compileFunction',
  },
  {
    step: 'logging',
    test: (f) =>
      inModule(f, 'pino', 'sonic-boom', 'thread-stream', 'pino-std-serializers') ||
      srcOf(f) === 'observability/log-fields',
  },
  { step: 'metrics', test: (f) => inModule(f, 'prom-client') },
  { step: 'patch encoding (JSON + base64)', test: (f) => f.functionName === 'encodePatch' },
  {
    step: 'response encoding',
    test: (f) => f.functionName === 'sendJson' || srcOf(f) === 'admission/response',
  },
  // Answers are written after a turn's reviews are judged (server/turn-batch), under no review.
  { step: 'answer writing (HTTP, TLS, socket)', test: (f) => f.url === 'node:_http_outgoing' },
  {
    step: 'route reading',
    test: (f) => {
      const s = srcOf(f) ?? '';
      return (
        s === 'mesh/routes' ||
        /^mesh\/[^/]+\/read$/.test(s) ||
        /^traffic\/(smi\/read|knative\/read|read-common|normalize|numbers|model|route-groups)$/.test(
          s,
        ) ||
        s === 'rules/route-reading'
      );
    },
  },
  {
    step: 'traffic model (flow, judge)',
    test: (f) => {
      const s = srcOf(f) ?? '';
      return (
        s.startsWith('traffic/flow/') ||
        /^(mesh\/[^/]+|traffic\/smi|traffic\/knative)\/flow$/.test(s) ||
        s === 'traffic/rational' ||
        s === 'rules/traffic-edit'
      );
    },
  },
  { step: 'parse (JSON.parse)', test: (f) => f.functionName === 'parse' && f.url === '' },
  { step: 'decode', test: (f) => srcOf(f) === 'admission/decode' },
  { step: 'work limits (counting)', test: (f) => srcOf(f) === 'server/limits' },
  { step: 'screening (worker)', test: (f) => srcOf(f) === 'server/screen-pool' },
  {
    step: 'draft and diff',
    test: (f) => ['admission/draft', 'admission/patch', 'util/json'].includes(srcOf(f) ?? ''),
  },
  { step: 'rules', test: (f) => (srcOf(f) ?? '').startsWith('rules/') },
  {
    step: 'policy and context',
    test: (f) => {
      const s = srcOf(f) ?? '';
      return s.startsWith('policy/') || s === 'admission/context' || s.startsWith('mesh/');
    },
  },
  {
    step: 'engine and dispatch',
    test: (f) => (srcOf(f) ?? '').startsWith('admission/'),
  },
  {
    step: 'review handler (JSON.parse inlined)',
    test: (f) => (srcOf(f) ?? '').startsWith('server/'),
  },
  {
    step: 'HTTP (node)',
    test: (f) => /^node:(_http_|internal\/http|http$)/.test(f.url) || f.functionName === 'execute',
  },
  {
    step: 'TLS, sockets, streams (node)',
    test: (f) => /^node:(_tls|tls|net|internal\/(tls|stream|streams|net)|stream)/.test(f.url),
  },
  {
    step: 'promises and ticks',
    test: (f) => f.url === 'node:internal/process/task_queues',
  },
  // Last: a turn's reviews run under setImmediate, so only what nothing above claims is the
  // timers' own.
  {
    step: 'timers',
    test: (f) =>
      f.url === 'node:internal/timers' ||
      f.url === 'node:timers' ||
      ['setTimeout', 'clearTimeout'].includes(f.functionName),
  },
  { step: 'other native', test: (f) => f.functionName === '(program)' },
];

const NOT_BUSY = new Set(['idle', 'start-up (module loading)']);

/** Self time per function and busy time per review step from a `node --cpu-prof` file. */
export function summarizeProfile(file: string, requests: number, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const parent = new Map<number, ProfileNode>();
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node);
  }
  const total = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0) || 1;
  const usPerHit = (profile.endTime - profile.startTime) / total;
  const byFunction = new Map<string, { name: string; where: string; hits: number }>();
  const bySteps = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const stack: CallFrame[] = [];
    for (let n: ProfileNode | undefined = node; n; n = parent.get(n.id)) stack.push(n.callFrame);
    const step = STEPS.find((s) => stack.some((f) => s.test(f)))?.step ?? 'other';
    bySteps.set(step, (bySteps.get(step) ?? 0) + hits);
    if (NOT_BUSY.has(step)) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const where =
      url === ''
        ? ''
        : `${url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}`;
    const key = `${name}@${where}`;
    const entry = byFunction.get(key) ?? { name, where, hits: 0 };
    entry.hits += hits;
    byFunction.set(key, entry);
  }
  const busy = [...bySteps].reduce((s, [step, h]) => (NOT_BUSY.has(step) ? s : s + h), 0) || 1;
  const pct = (hits: number) => Math.round((hits / busy) * 1000) / 10;
  const perRequest = (hits: number) =>
    Math.round(((hits * usPerHit) / Math.max(1, requests)) * 10) / 10;
  return {
    durationUs: profile.endTime - profile.startTime,
    busyUsPerRequest: perRequest(busy),
    functions: [...byFunction.values()]
      .sort((a, b) => b.hits - a.hits)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfPercent: pct(f.hits) })),
    steps: [...bySteps]
      .filter(([step]) => !NOT_BUSY.has(step))
      .sort((a, b) => b[1] - a[1])
      .map(([step, hits]) => ({ step, percent: pct(hits), usPerRequest: perRequest(hits) })),
  };
}
