import { access } from 'node:fs/promises';
import {
  CERT_MODES,
  DEFAULT_SHUTDOWN_SECONDS,
  startWebhook,
  StartupError,
  type CertMode,
  type RunningWebhook,
  type ServeOptions,
} from '../app/serve.js';
import { DEFAULT_LIMITS, type ServerLimits } from '../server/limits.js';
import { UsageError } from './errors.js';
import { serviceAccountFlag } from './service-account-flag.js';

export interface ServeFlags {
  port: string;
  metricsPort?: string;
  cert?: string;
  key?: string;
  ca?: string;
  policy?: string;
  kubeconfig?: string;
  inCluster?: boolean;
  installNamespace: string;
  service: string;
  tlsSecret: string;
  certMode?: string;
  mutatingWebhook?: string;
  validatingWebhook?: string;
  leaderLease: string;
  mutateOnTimeout: string;
  validateOnTimeout: string;
  drainSeconds: string;
  controllerServiceAccount?: string;
  shutdownSeconds?: string;
  maxConnections?: string;
  maxBufferedMib?: string;
  maxReviewsInFlight?: string;
  requestTimeoutSeconds?: string;
  headersTimeoutSeconds?: string;
  maxBackends?: string;
  maxRoutes?: string;
}

/** A positive number from a flag (whole when `integer`), or the default when the flag is absent. */
function positive(
  flag: string,
  value: string | undefined,
  fallback: number,
  integer = true,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new UsageError(`${flag} must be a ${integer ? 'whole ' : ''}number > 0; got ${value}`);
  return n;
}

function limitsFrom(flags: ServeFlags): ServerLimits {
  const d = DEFAULT_LIMITS;
  const requestTimeoutMs =
    positive(
      '--request-timeout-seconds',
      flags.requestTimeoutSeconds,
      d.requestTimeoutMs / 1000,
      false,
    ) * 1000;
  const headersTimeoutMs =
    positive(
      '--headers-timeout-seconds',
      flags.headersTimeoutSeconds,
      d.headersTimeoutMs / 1000,
      false,
    ) * 1000;
  // Node refuses a headers timeout longer than the request timeout.
  if (headersTimeoutMs > requestTimeoutMs)
    throw new UsageError('--headers-timeout-seconds must not exceed --request-timeout-seconds');
  return {
    ...d,
    maxConnections: positive('--max-connections', flags.maxConnections, d.maxConnections),
    maxBufferedBytes: Math.round(
      positive('--max-buffered-mib', flags.maxBufferedMib, d.maxBufferedBytes / 2 ** 20, false) *
        2 ** 20,
    ),
    maxReviewsInFlight: positive(
      '--max-reviews-in-flight',
      flags.maxReviewsInFlight,
      d.maxReviewsInFlight,
    ),
    requestTimeoutMs,
    headersTimeoutMs,
    work: {
      maxBackends: positive('--max-backends', flags.maxBackends, d.work.maxBackends),
      maxRoutes: positive('--max-routes', flags.maxRoutes, d.work.maxRoutes),
    },
  };
}

const ON_TIMEOUT = ['allow', 'deny'] as const;
type OnTimeout = (typeof ON_TIMEOUT)[number];

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')}; got ${value}`);
  return value as T;
}

function nonEmpty(flag: string, value: string | undefined): void {
  if (value !== undefined && value.trim() === '') throw new UsageError(`${flag} must not be empty`);
}

function parseMetricsPort(value: string | undefined, port: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`--metrics-port must be a port number; got ${value}`);
  if (n !== 0 && n === port)
    throw new UsageError(`--metrics-port must differ from --port (${port})`);
  return n;
}

const DEFAULT_POLICY_FILE = 'policies/default.yaml';

/**
 * Checks the flags and starts the webhook (and, with a cluster, the controller). Bad flags and
 * start-up problems are UsageErrors: one line, exit 2. `extra` is for tests (logger, timings).
 */
export async function startServe(
  flags: ServeFlags,
  extra: Pick<ServeOptions, 'logger' | 'controller' | 'podName'> = {},
): Promise<{
  webhook: RunningWebhook;
  drainSeconds: number;
  shutdownSeconds: number;
  policyFile: string | undefined;
}> {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a port number; got ${flags.port}`);
  const metricsPort = parseMetricsPort(flags.metricsPort, port);
  const drainSeconds = Number(flags.drainSeconds);
  if (!Number.isFinite(drainSeconds) || drainSeconds < 0)
    throw new UsageError(`--drain-seconds must be a number ≥ 0; got ${flags.drainSeconds}`);
  const shutdownSeconds = positive(
    '--shutdown-seconds',
    flags.shutdownSeconds,
    DEFAULT_SHUTDOWN_SECONDS,
    false,
  );
  const limits = limitsFrom(flags);
  if ((flags.cert === undefined) !== (flags.key === undefined))
    throw new UsageError('--cert and --key go together');
  if (flags.inCluster && flags.kubeconfig !== undefined)
    throw new UsageError('--in-cluster and --kubeconfig exclude each other');
  const certMode =
    flags.certMode === undefined
      ? undefined
      : oneOf<CertMode>('--cert-mode', flags.certMode, CERT_MODES);
  if (certMode === 'self-managed' && !flags.inCluster && flags.kubeconfig === undefined)
    throw new UsageError('--cert-mode self-managed needs --in-cluster or --kubeconfig');
  const onTimeout = {
    mutate: oneOf<OnTimeout>('--mutate-on-timeout', flags.mutateOnTimeout, ON_TIMEOUT),
    validate: oneOf<OnTimeout>('--validate-on-timeout', flags.validateOnTimeout, ON_TIMEOUT),
  };
  for (const [flag, value] of [
    ['--install-namespace', flags.installNamespace],
    ['--service', flags.service],
    ['--tls-secret', flags.tlsSecret],
    ['--leader-lease', flags.leaderLease],
    ['--mutating-webhook', flags.mutatingWebhook],
    ['--validating-webhook', flags.validatingWebhook],
  ] as const)
    nonEmpty(flag, value);
  const controllerServiceAccount = serviceAccountFlag(
    '--controller-service-account',
    flags.controllerServiceAccount,
  );
  const policyFile =
    flags.policy ??
    (await access(DEFAULT_POLICY_FILE).then(
      () => DEFAULT_POLICY_FILE,
      () => undefined,
    ));
  const policyWhy =
    flags.policy !== undefined
      ? '--policy'
      : policyFile !== undefined
        ? `the default file, re-read when it changes; --policy picks another`
        : `no --policy, and no ${DEFAULT_POLICY_FILE} in ${process.cwd()}`;

  let webhook;
  try {
    webhook = await startWebhook({
      port,
      ...(metricsPort === undefined ? {} : { metricsPort }),
      ...(flags.cert !== undefined && flags.key !== undefined
        ? { certFile: flags.cert, keyFile: flags.key }
        : {}),
      ...(policyFile === undefined ? {} : { policyFile }),
      policyWhy,
      ...(flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig }),
      ...(flags.inCluster ? { inCluster: true } : {}),
      installNamespace: flags.installNamespace,
      service: flags.service,
      tlsSecret: flags.tlsSecret,
      ...(certMode === undefined ? {} : { certMode }),
      ...(flags.mutatingWebhook === undefined ? {} : { mutatingWebhook: flags.mutatingWebhook }),
      ...(flags.validatingWebhook === undefined
        ? {}
        : { validatingWebhook: flags.validatingWebhook }),
      leaderLease: flags.leaderLease,
      ...(controllerServiceAccount === undefined ? {} : { controllerServiceAccount }),
      ...(process.env.POD_NAME ? { podName: process.env.POD_NAME } : {}),
      onTimeout,
      drainSeconds,
      shutdownSeconds,
      limits,
      ...(flags.ca === undefined ? {} : { caFile: flags.ca }),
      ...extra,
    });
  } catch (error) {
    if (error instanceof StartupError) throw new UsageError(startupMessage(error, flags));
    throw error;
  }
  return { webhook, drainSeconds, shutdownSeconds, policyFile };
}

/** A busy or forbidden port names the setting that moves it: PORT (or --port), --metrics-port. */
function startupMessage(error: StartupError, flags: ServeFlags): string {
  let code: string | undefined;
  for (let e: unknown = error; e instanceof Error && code === undefined; e = e.cause)
    code = (e as NodeJS.ErrnoException).code;
  if (error.listener === undefined || (code !== 'EADDRINUSE' && code !== 'EACCES'))
    return error.message;
  // The metrics listener's own message already names its port.
  if (error.listener === 'metrics') return `${error.message}; pass another --metrics-port`;
  const problem =
    code === 'EADDRINUSE'
      ? `port ${flags.port} is already in use by another process`
      : `port ${flags.port} needs privileges this process lacks`;
  return `${problem}: set PORT (or --port) to another port, e.g. PORT=8444 npm start (${error.message})`;
}

export async function runServe(flags: ServeFlags): Promise<void> {
  const started = Date.now();
  const { webhook, drainSeconds, shutdownSeconds, policyFile } = await startServe(flags);
  const { logger, lifecycle } = webhook;
  const url = `https://localhost:${webhook.https.port}`;
  const fields = { url, policy: policyFile ?? 'embedded defaults' };
  // "ready" is said only once it is true: certificate loaded and valid, policy loaded.
  const announce = () =>
    logger.info(
      { ...fields, startupMs: Date.now() - started },
      `meshwarden ready at ${url} (POST /mutate, /validate)`,
    );
  if (lifecycle.ready) announce();
  else {
    logger.info(
      { ...fields, reason: lifecycle.notReadyReason },
      `meshwarden serving at ${url}; not ready yet`,
    );
    const watch = setInterval(() => {
      if (!lifecycle.ready) return;
      clearInterval(watch);
      if (!lifecycle.draining) announce();
    }, 250);
    watch.unref();
  }

  const stop = (signal: NodeJS.Signals) => {
    // SIGINT (Ctrl-C in development) skips the drain window; SIGTERM (Kubernetes) honours it.
    void webhook.shutdown(signal === 'SIGINT' ? 0 : drainSeconds).then(({ unanswered }) => {
      logger.flush();
      // 0 when every request whose body arrived was answered; cut stalled bodies do not count.
      process.exit(unanswered === 0 ? 0 : 1);
    });
    // Backstop: the shutdown has its own deadline; this one only catches a hang in it.
    setTimeout(
      () => {
        logger.error('drain did not finish in time; exiting');
        logger.flush();
        process.exit(1);
      },
      (shutdownSeconds + 3) * 1000,
    ).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
