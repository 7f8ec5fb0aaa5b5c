import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** meshwarden's Prometheus metrics, on a registry of their own (never the global one). */
export interface Metrics {
  readonly registry: Registry;
  readonly requests: Counter<'endpoint' | 'kind' | 'operation' | 'decision'>;
  readonly duration: Histogram<'endpoint'>;
  readonly inFlight: Gauge<'endpoint'>;
  readonly rejectedBodies: Counter<'endpoint' | 'code'>;
  readonly audits: Counter<'rule'>;
  readonly policyReloads: Counter<'source'>;
  readonly policyReloadErrors: Counter<'source'>;
  readonly certificateReloads: Counter;
  readonly certificateNotAfter: Gauge;
  readonly certificateRefusals: Counter<'reason'>;
  readonly detectedMesh: Gauge<'mesh'>;
  readonly leader: Gauge;
  readonly reconciles: Counter<'result'>;
  readonly watchRestarts: Counter<'resource'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.defaultMetrics !== false)
    collectDefaultMetrics({ register: registry, prefix: 'meshwarden_' });
  return {
    registry,
    requests: new Counter({
      name: 'meshwarden_admission_requests_total',
      help: 'Admission reviews answered, by endpoint, kind, operation and decision.',
      labelNames: ['endpoint', 'kind', 'operation', 'decision'],
      registers,
    }),
    duration: new Histogram({
      name: 'meshwarden_admission_duration_seconds',
      help: 'Time from request received to response written.',
      labelNames: ['endpoint'],
      // Sub-millisecond resolution: the whole budget is a few milliseconds.
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    inFlight: new Gauge({
      name: 'meshwarden_admission_in_flight',
      help: 'Admission reviews being processed.',
      labelNames: ['endpoint'],
      registers,
    }),
    rejectedBodies: new Counter({
      name: 'meshwarden_admission_rejected_bodies_total',
      help: 'Requests refused before review (400 unreadable, 413 too large, 415 wrong type).',
      labelNames: ['endpoint', 'code'],
      registers,
    }),
    audits: new Counter({
      name: 'meshwarden_audit_findings_total',
      help: 'Findings recorded in audit mode (allowed, annotated, logged).',
      labelNames: ['rule'],
      registers,
    }),
    policyReloads: new Counter({
      name: 'meshwarden_policy_reloads_total',
      help: 'Policies loaded and put in force.',
      labelNames: ['source'],
      registers,
    }),
    policyReloadErrors: new Counter({
      name: 'meshwarden_policy_reload_errors_total',
      help: 'Policies refused as invalid; the last valid one stayed in force.',
      labelNames: ['source'],
      registers,
    }),
    certificateReloads: new Counter({
      name: 'meshwarden_certificate_reloads_total',
      help: 'Serving certificates re-read from disk and put in use.',
      registers,
    }),
    certificateNotAfter: new Gauge({
      name: 'meshwarden_certificate_not_after_seconds',
      help: 'Expiry of the serving certificate in use, as a Unix time.',
      registers,
    }),
    certificateRefusals: new Counter({
      name: 'meshwarden_certificate_refusals_total',
      help: 'Serving certificates refused on load (expired, not yet valid, not signed by the configured CA, unreadable); the pair in use stayed.',
      labelNames: ['reason'],
      registers,
    }),
    detectedMesh: new Gauge({
      name: 'meshwarden_detected_mesh',
      help: '1 for the mesh in force for `mesh: auto`, 0 for the others.',
      labelNames: ['mesh'],
      registers,
    }),
    leader: new Gauge({
      name: 'meshwarden_leader',
      help: '1 while this replica holds the leader lease (reconciles, manages certificates).',
      registers,
    }),
    reconciles: new Counter({
      name: 'meshwarden_reconcile_total',
      help: 'TrafficSplit reconciliations, by result (applied, unchanged, blocked, failed, error).',
      labelNames: ['result'],
      registers,
    }),
    watchRestarts: new Counter({
      name: 'meshwarden_watch_restarts_total',
      help: 'Watches that stopped on an error and were restarted with backoff.',
      labelNames: ['resource'],
      registers,
    }),
  };
}
