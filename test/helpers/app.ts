import { pino } from 'pino';
import { AdmissionEngine } from '../../src/admission/engine.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { PolicyStore } from '../../src/policy/store.js';
import { defaultRules } from '../../src/rules/index.js';
import { createApp } from '../../src/server/app.js';
import { Lifecycle } from '../../src/server/lifecycle.js';

/** The webhook's listener with every default rule and policy, ready, logging nothing. */
export function defaultWebhookApp() {
  const lifecycle = new Lifecycle();
  lifecycle.tlsLoaded = true;
  const metrics = createMetrics({ defaultMetrics: false });
  const app = createApp({
    engine: new AdmissionEngine({ rules: defaultRules(), policy: new PolicyStore() }),
    metrics,
    logger: pino({ level: 'silent' }),
    lifecycle,
  });
  return { app, lifecycle, metrics };
}
