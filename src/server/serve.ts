import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import type { ClusterView } from '../admission/cluster-view.js';
import { AdmissionEngine } from '../admission/engine.js';
import { DEFAULT_POLICY_SPEC } from '../policy/defaults.js';
import { formatPolicyErrors, parsePolicyText } from '../policy/load.js';
import { PolicyStore } from '../policy/store.js';
import type { PolicySpec } from '../policy/types.js';
import type { RuleSet } from '../admission/rule.js';
import { defaultRules } from '../rules/index.js';
import { createApp } from './app.js';
import { ensureDevCertificates } from './certs.js';
import { startHttpsServer, type RunningServer } from './https-server.js';
import { Lifecycle } from './lifecycle.js';
import { createMetrics, type Metrics } from './metrics.js';

export interface ServeOptions {
  readonly port: number;
  readonly host?: string;
  /** Serving certificate and key; development certificates are generated into `certDir` when absent. */
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly certDir?: string;
  readonly policyFile?: string;
  readonly kubeconfig?: string;
  readonly installNamespace?: string;
  /** Seconds to keep serving after SIGTERM before closing the listener. */
  readonly drainSeconds: number;
  readonly logger?: Logger;
  readonly onTimeout?: { mutate: 'allow' | 'deny'; validate: 'allow' | 'deny' };
  /** The rules to run; `defaultRules()` unless given (tests inject their own). */
  readonly rules?: RuleSet;
  /** How often the certificate and policy files are checked for changes (default 1 s each). */
  readonly certPollMs?: number;
  readonly policyPollMs?: number;
}

export interface RunningWebhook {
  readonly https: RunningServer;
  readonly engine: AdmissionEngine;
  readonly policy: PolicyStore;
  readonly lifecycle: Lifecycle;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Turns readiness off, serves through the drain window, then closes. */
  shutdown(drainSeconds?: number): Promise<void>;
}

/** Thrown for start-up problems the user must fix (bad flags, unreadable files). */
export class StartupError extends Error {}

export async function startWebhook(options: ServeOptions): Promise<RunningWebhook> {
  // One write per log line cost 10-20 µs per review. Lines are gathered into 4 KB writes made
  // off the event loop, and written at least every second; pino flushes synchronously on exit.
  const logger =
    options.logger ??
    pino(
      { level: process.env.LOG_LEVEL ?? 'info', base: { app: 'meshwarden' } },
      pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 1000 }),
    );
  const metrics = createMetrics();
  const policyFile = options.policyFile;
  const policy = new PolicyStore(
    policyFile === undefined ? DEFAULT_POLICY_SPEC : await readPolicyFile(policyFile),
  );
  metrics.policyReloads.inc({ source: policyFile ?? 'embedded' });
  const lifecycle = new Lifecycle(() => policy.loaded);

  let cluster: ClusterView | undefined;
  let stopCluster: (() => Promise<void>) | undefined;
  if (options.kubeconfig !== undefined) {
    const { startClusterRuntime } = await import('../controller/runtime.js');
    const runtime = await startClusterRuntime({
      kubeconfig: options.kubeconfig,
      installNamespace: options.installNamespace ?? 'meshwarden-system',
      policy,
      metrics,
      logger,
    });
    cluster = runtime.cluster;
    stopCluster = () => runtime.stop();
  }

  const engine = new AdmissionEngine({
    rules: options.rules ?? defaultRules(),
    policy,
    ...(cluster ? { cluster } : {}),
    installNamespace: options.installNamespace ?? 'meshwarden-system',
    logger,
    ...(options.onTimeout ? { onTimeout: options.onTimeout } : {}),
  });

  let certFile = options.certFile;
  let keyFile = options.keyFile;
  if (certFile === undefined || keyFile === undefined) {
    const dir = options.certDir ?? 'certs';
    const { paths, generated } = await ensureDevCertificates(dir);
    if (generated)
      logger.info({ dir: resolve(dir) }, 'generated development certificates (CA in ca.crt)');
    certFile = paths.cert;
    keyFile = paths.key;
  }

  const app = createApp({ engine, metrics, logger, lifecycle });
  let https: RunningServer;
  try {
    https = await startHttpsServer(
      app,
      {
        port: options.port,
        certFile,
        keyFile,
        ...(options.host ? { host: options.host } : {}),
        ...(options.certPollMs === undefined ? {} : { certPollMs: options.certPollMs }),
      },
      { logger, lifecycle, metrics },
    );
  } catch (error) {
    throw new StartupError(`cannot serve HTTPS: ${(error as Error).message}`, { cause: error });
  }

  const stopPolicyWatch =
    policyFile === undefined
      ? () => {}
      : watchPolicyFile(policyFile, policy, metrics, logger, options.policyPollMs ?? 1000);

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (drainSeconds = options.drainSeconds): Promise<void> => {
    shuttingDown ??= (async () => {
      lifecycle.startDrain();
      logger.info(
        { drainSeconds, inFlight: lifecycle.inFlight },
        'draining: readiness is off, still serving',
      );
      if (drainSeconds > 0) await new Promise((r) => setTimeout(r, drainSeconds * 1000));
      stopPolicyWatch();
      await https.close();
      await stopCluster?.();
      logger.info('drained; no request in flight');
    })();
    return shuttingDown;
  };

  return { https, engine, policy, lifecycle, metrics, logger, shutdown };
}

async function readPolicyFile(file: string): Promise<PolicySpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new StartupError(
      `cannot read policy ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  const result = parsePolicyText(text);
  if (!result.ok)
    throw new StartupError(`invalid policy:\n${formatPolicyErrors(result.errors, file)}`);
  return result.policy.spec;
}

/**
 * Reloads the policy file when it changes; an invalid file leaves the last valid policy in force.
 * A change is loaded only once the file has stood still for a poll and `settleMs`, and only if it
 * did not change while being read: an editor or `cp` writing in place would otherwise hand over
 * the first half of a policy, which can be valid YAML with the rest left at defaults.
 */
function watchPolicyFile(
  file: string,
  store: PolicyStore,
  metrics: Metrics,
  logger: Logger,
  pollMs: number,
  settleMs = 500,
): () => void {
  const stampOf = async () => {
    const s = await stat(file).catch(() => undefined);
    return s ? { stamp: `${s.ino}:${s.size}:${s.mtimeMs}`, mtimeMs: s.mtimeMs } : undefined;
  };
  let loaded = '';
  let pending = '';
  let busy = false;
  void stampOf().then((s) => (loaded = s?.stamp ?? ''));
  const check = async () => {
    const before = await stampOf();
    if (!before || before.stamp === loaded) return;
    if (before.stamp !== pending || Date.now() - before.mtimeMs < settleMs) {
      pending = before.stamp;
      return;
    }
    const text = await readFile(file, 'utf8');
    if ((await stampOf())?.stamp !== before.stamp) return;
    loaded = before.stamp;
    const result = parsePolicyText(text);
    if (!result.ok) {
      metrics.policyReloadErrors.inc({ source: file });
      logger.error(
        { errors: result.errors },
        `policy ${file} is invalid; the last valid policy stays in force:\n${formatPolicyErrors(result.errors, file)}`,
      );
      return;
    }
    store.setCluster(result.policy.spec);
    metrics.policyReloads.inc({ source: file });
    logger.info({ file }, 'policy reloaded');
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void check()
      .catch((error: unknown) => logger.warn({ err: error, file }, 'cannot read the policy file'))
      .finally(() => (busy = false));
  }, pollMs);
  timer.unref();
  return () => clearInterval(timer);
}
