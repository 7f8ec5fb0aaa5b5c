import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { staticClusterView, type ClusterView } from '../admission/cluster-view.js';
import { AdmissionEngine } from '../admission/engine.js';
import type { ClusterRuntime, ControllerTuning } from '../controller/runtime.js';
import { DEFAULT_POLICY_SPEC } from '../policy/defaults.js';
import { formatPolicyErrors, parsePolicyText } from '../policy/load.js';
import { watchPolicyFile } from '../policy/file-watcher.js';
import { PolicyStore } from '../policy/store.js';
import type { PolicySpec } from '../policy/types.js';
import type { RuleSet } from '../admission/rule.js';
import { defaultRules } from '../rules/index.js';
import { createApp } from '../server/app.js';
import { ensureDevCertificates } from '../pki/files.js';
import { startHttpsServer, type RunningServer } from '../server/https-server.js';
import { Lifecycle } from '../server/lifecycle.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { startMetricsServer, type MetricsServer } from '../server/metrics-server.js';
import { clipLogFields } from '../observability/log-fields.js';
import { AdmissionBudget } from '../server/admission-budget.js';
import { DEFAULT_LIMITS, DEFAULT_SHUTDOWN_SECONDS, type ServerLimits } from '../server/limits.js';
import { ScreenPool } from '../server/screen-pool.js';
import { bufferedDestination } from '../observability/log-destination.js';
import { chooseLogFormat, prettyDestination } from '../observability/log-format.js';
import { meshStatement, policyStatement } from './startup-log.js';

export interface ServeOptions {
  readonly port: number;
  readonly host?: string;
  /** Serve GET /metrics over plain HTTP on this port, and no longer on the HTTPS port. */
  readonly metricsPort?: number;
  /** Serving certificate and key; development certificates are generated into `certDir` when absent. */
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly certDir?: string;
  readonly policyFile?: string;
  /** Why that policy file, or none, is used (`--policy`, the default file): for the start-up log. */
  readonly policyWhy?: string;
  /** Connect to the cluster of this kubeconfig file (out of cluster). */
  readonly kubeconfig?: string;
  /** Connect with the pod's service account. */
  readonly inCluster?: boolean;
  readonly installNamespace?: string;
  /** The webhook Service name (certificate SANs, replica probes). Default `meshwarden`. */
  readonly service?: string;
  /** The kubernetes.io/tls Secret of self-managed certificates. Default `meshwarden-tls`. */
  readonly tlsSecret?: string;
  /** Default: self-managed with `inCluster`, external otherwise. */
  readonly certMode?: CertMode;
  /** Webhook configurations whose caBundle is managed (self-managed mode). */
  readonly mutatingWebhook?: string;
  readonly validatingWebhook?: string;
  /** The coordination.k8s.io Lease of leader election. Default `meshwarden-leader`. */
  readonly leaderLease?: string;
  /**
   * `namespace/name` of the ServiceAccount meshwarden's controller writes as: its writes of
   * translated routes pass the weight-shift guard when they match the cached TrafficSplit.
   */
  readonly controllerServiceAccount?: string;
  /** A fixed cluster view when not connected to a cluster (tests: what `review --context` gives). */
  readonly cluster?: ClusterView;
  /** This replica's name (env POD_NAME); the leader identity. */
  readonly podName?: string;
  /** Controller timings and seams (tests). */
  readonly controller?: ControllerTuning;
  /** Seconds to keep serving after SIGTERM before closing the listener. */
  readonly drainSeconds: number;
  /**
   * Seconds from SIGTERM to the end of the drain, whatever clients do: requests still open
   * then are cut. Default 20 (the chart's grace period is 30 s, after a 5 s preStop pause).
   */
  readonly shutdownSeconds?: number;
  /** Budgets and limits per caller; `DEFAULT_LIMITS` for what is not given. */
  readonly limits?: Partial<ServerLimits>;
  /** PEM file of the CA the serving certificate files must chain to (`--ca`). */
  readonly caFile?: string;
  readonly logger?: Logger;
  readonly onTimeout?: { mutate: 'allow' | 'deny'; validate: 'allow' | 'deny' };
  /** The rules to run; `defaultRules()` unless given (tests inject their own). */
  readonly rules?: RuleSet;
  /** How often the certificate and policy files are checked for changes (default 1 s each). */
  readonly certPollMs?: number;
  readonly policyPollMs?: number;
}

export const CERT_MODES = ['self-managed', 'external'] as const;
export type CertMode = (typeof CERT_MODES)[number];

export interface RunningWebhook {
  readonly https: RunningServer;
  readonly metricsServer?: MetricsServer;
  /** Present when connected to a cluster. */
  readonly runtime?: ClusterRuntime;
  readonly engine: AdmissionEngine;
  readonly policy: PolicyStore;
  readonly lifecycle: Lifecycle;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /**
   * Turns readiness off, serves through the drain window, then closes; by the shutdown
   * deadline whatever clients do.
   */
  shutdown(drainSeconds?: number): Promise<ShutdownResult>;
}

export interface ShutdownResult {
  /** Requests still open at the deadline, cut. */
  readonly cut: number;
  /** Of those, reviews whose body had been read completely: a caller left without an answer. */
  readonly unanswered: number;
}

export { DEFAULT_SHUTDOWN_SECONDS };

/** Thrown for start-up problems the user must fix (bad flags, unreadable files, a busy port). */
export class StartupError extends Error {
  /** The listener that could not start, when that was the problem. */
  readonly listener?: 'https' | 'metrics';

  constructor(message: string, options?: ErrorOptions & { listener?: 'https' | 'metrics' }) {
    super(message, options);
    if (options?.listener) this.listener = options.listener;
  }
}

export async function startWebhook(options: ServeOptions): Promise<RunningWebhook> {
  // One write per log line cost 10-20 µs per review. Lines are gathered into 16 KB writes made
  // off the event loop, and written at least every second; pino flushes synchronously on exit
  // (log-destination.ts).
  // On a terminal the lines are written pretty and at once instead (LOG_FORMAT overrides).
  // Fields come from requests: bounded, so one review cannot write megabytes of log.
  const logOptions = {
    level: process.env.LOG_LEVEL ?? 'info',
    base: { app: 'meshwarden' },
    formatters: { log: clipLogFields },
  };
  const logger =
    options.logger ??
    (chooseLogFormat(process.env, process.stdout.isTTY === true) === 'pretty'
      ? pino(
          logOptions,
          prettyDestination(
            (text) => process.stdout.write(text),
            process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
          ),
        )
      : pino(logOptions, bufferedDestination(1)));
  const metrics = createMetrics();
  const policyFile = options.policyFile;
  const inCluster = options.inCluster === true;
  if (inCluster && options.kubeconfig !== undefined)
    throw new StartupError('--in-cluster and --kubeconfig exclude each other');
  const clusterMode = inCluster || options.kubeconfig !== undefined;
  const certMode = options.certMode ?? (inCluster ? 'self-managed' : 'external');
  if (certMode === 'self-managed' && !clusterMode)
    throw new StartupError(
      '--cert-mode self-managed keeps certificates in a Secret: add --in-cluster or --kubeconfig',
    );
  const installNamespace = options.installNamespace ?? 'meshwarden-system';
  const basePolicy =
    policyFile === undefined ? DEFAULT_POLICY_SPEC : await readPolicyFile(policyFile);
  logger.info(
    { policy: policyFile ?? 'built-in defaults' },
    policyStatement(
      {
        ...(policyFile === undefined ? {} : { file: policyFile }),
        why: options.policyWhy ?? 'given',
      },
      clusterMode,
      installNamespace,
    ),
  );
  let mesh = meshStatement(basePolicy, clusterMode);
  logger.info({ mesh: mesh.mesh, basis: mesh.basis }, mesh.message);
  // In a cluster, readiness waits for the first list of the policy ConfigMaps.
  const policy = new PolicyStore(basePolicy, !clusterMode);
  if (!clusterMode) metrics.policyReloads.inc({ source: policyFile ?? 'embedded' });
  const lifecycle = new Lifecycle(() => policy.loaded);

  let runtime: ClusterRuntime | undefined;
  let cluster: ClusterView | undefined;
  if (clusterMode) {
    const { startClusterRuntime, ClusterConfigError } = await import('../controller/runtime.js');
    try {
      runtime = await startClusterRuntime({
        ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
        inCluster,
        installNamespace,
        policy,
        basePolicy,
        metrics,
        logger,
        identity: options.podName ?? `${hostname()}-${process.pid}`,
        leaderLease: options.leaderLease ?? 'meshwarden-leader',
        ...(options.controllerServiceAccount === undefined
          ? {}
          : { controllerServiceAccount: options.controllerServiceAccount }),
        ...(certMode === 'self-managed'
          ? {
              certificates: {
                secretName: options.tlsSecret ?? 'meshwarden-tls',
                service: options.service ?? 'meshwarden',
                ...(options.mutatingWebhook ? { mutatingWebhook: options.mutatingWebhook } : {}),
                ...(options.validatingWebhook
                  ? { validatingWebhook: options.validatingWebhook }
                  : {}),
              },
            }
          : {}),
        ...(options.controller ? { tuning: options.controller } : {}),
      });
    } catch (error) {
      if (error instanceof ClusterConfigError) throw new StartupError(error.message);
      throw error;
    }
    cluster = runtime.cluster;
  } else if (options.cluster) {
    cluster = options.cluster;
  } else if (options.controllerServiceAccount !== undefined) {
    cluster = staticClusterView({ controllerServiceAccount: options.controllerServiceAccount });
  }

  const engine = new AdmissionEngine({
    rules: options.rules ?? defaultRules(),
    policy,
    ...(cluster ? { cluster } : {}),
    installNamespace,
    logger,
    ...(options.onTimeout ? { onTimeout: options.onTimeout } : {}),
  });

  let certFile = options.certFile;
  let keyFile = options.keyFile;
  // Self-managed certificates arrive from the Secret; files are optional then.
  if ((certFile === undefined || keyFile === undefined) && certMode === 'external') {
    const dir = options.certDir ?? 'certs';
    const { paths, generated } = await ensureDevCertificates(dir);
    if (generated)
      logger.info({ dir: resolve(dir) }, 'generated development certificates (CA in ca.crt)');
    certFile = paths.cert;
    keyFile = paths.key;
  }

  const serveMetrics = options.metricsPort === undefined;
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  let caBundle: string | undefined;
  if (options.caFile !== undefined) {
    try {
      caBundle = await readFile(options.caFile, 'utf8');
    } catch (error) {
      throw new StartupError(
        `cannot read CA ${options.caFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }
  }
  const pool = new ScreenPool(limits.screenWorkers);
  const app = createApp({
    engine,
    metrics,
    logger,
    lifecycle,
    serveMetrics,
    budget: new AdmissionBudget(limits.maxBufferedBytes, limits.maxReviewsInFlight),
    work: limits.work,
    screen: { pool, offloadBytes: limits.offloadBytes },
  });
  // In a cluster a refused pair is also an Event on this pod, where `kubectl describe` shows it.
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: options.podName ?? hostname(), namespace: installNamespace },
  };
  const onCertificateRefused = (message: string) =>
    runtime?.events.record(pod, 'Warning', 'CertificateRefused', message);
  let https: RunningServer;
  try {
    https = await startHttpsServer(
      app,
      {
        port: options.port,
        ...(certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : {}),
        ...(options.host ? { host: options.host } : {}),
        ...(options.certPollMs === undefined ? {} : { certPollMs: options.certPollMs }),
        ...(caBundle === undefined ? {} : { caBundle }),
        limits,
        onCertificateRefused,
      },
      { logger, lifecycle, metrics },
    );
  } catch (error) {
    await runtime?.stop();
    await pool.close();
    throw new StartupError(`cannot serve HTTPS: ${(error as Error).message}`, {
      cause: error,
      listener: 'https',
    });
  }
  runtime?.attachServer(https);
  const metricsServer = await startMetricsServer({
    port: options.metricsPort,
    host: options.host,
    metrics,
    logger,
  }).catch(async (error: unknown) => {
    await https.close();
    await runtime?.stop();
    await pool.close();
    throw new StartupError((error as Error).message, { cause: error, listener: 'metrics' });
  });

  // In a cluster the file is the base policy, under the install namespace's ConfigMap.
  const applyFilePolicy = (spec: PolicySpec) => {
    if (runtime) runtime.setBasePolicy(spec);
    else policy.setCluster(spec);
    const next = meshStatement(spec, clusterMode);
    if (next.message !== mesh.message)
      logger.info({ mesh: next.mesh, basis: next.basis }, `policy reloaded: ${next.message}`);
    mesh = next;
  };
  const stopPolicyWatch =
    policyFile === undefined
      ? () => {}
      : watchPolicyFile(policyFile, applyFilePolicy, {
          metrics,
          logger,
          pollMs: options.policyPollMs ?? 1000,
        });

  let shuttingDown: Promise<ShutdownResult> | undefined;
  const shutdown = (drainSeconds = options.drainSeconds): Promise<ShutdownResult> => {
    shuttingDown ??= (async () => {
      const started = Date.now();
      const totalMs = (options.shutdownSeconds ?? DEFAULT_SHUTDOWN_SECONDS) * 1000;
      const drainMs = Math.min(drainSeconds * 1000, totalMs);
      lifecycle.startDrain();
      logger.info(
        { drainSeconds, inFlight: lifecycle.inFlight },
        'draining: readiness is off, still serving',
      );
      if (drainMs > 0) await new Promise((r) => setTimeout(r, drainMs));
      stopPolicyWatch();
      // What is left of the shutdown budget, less a margin for stopping the controller.
      const closeMs = Math.max(500, totalMs - (Date.now() - started) - 1000);
      const { cut } = await https.close(closeMs);
      await metricsServer?.close();
      const unanswered = lifecycle.unanswered;
      await Promise.race([runtime?.stop(), new Promise((r) => setTimeout(r, 1000).unref())]);
      await pool.close();
      if (cut === 0) logger.info('drained; no request in flight');
      else logger.warn({ cut, unanswered }, 'drained at the deadline; open requests were cut');
      return { cut, unanswered };
    })();
    return shuttingDown;
  };

  return {
    https,
    ...(metricsServer ? { metricsServer } : {}),
    ...(runtime ? { runtime } : {}),
    engine,
    policy,
    lifecycle,
    metrics,
    logger,
    shutdown,
  };
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
