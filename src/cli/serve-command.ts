import { access } from 'node:fs/promises';
import { startWebhook, StartupError } from '../server/serve.js';
import { UsageError } from './program.js';

interface ServeFlags {
  port: string;
  cert?: string;
  key?: string;
  ca?: string;
  policy?: string;
  kubeconfig?: string;
  installNamespace: string;
  drainSeconds: string;
}

const DEFAULT_POLICY_FILE = 'policies/default.yaml';

export async function runServe(flags: ServeFlags): Promise<void> {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a port number; got ${flags.port}`);
  const drainSeconds = Number(flags.drainSeconds);
  if (!Number.isFinite(drainSeconds) || drainSeconds < 0)
    throw new UsageError(`--drain-seconds must be a number ≥ 0; got ${flags.drainSeconds}`);
  if ((flags.cert === undefined) !== (flags.key === undefined))
    throw new UsageError('--cert and --key go together');
  const policyFile =
    flags.policy ??
    (await access(DEFAULT_POLICY_FILE).then(
      () => DEFAULT_POLICY_FILE,
      () => undefined,
    ));

  const started = Date.now();
  let webhook;
  try {
    webhook = await startWebhook({
      port,
      ...(flags.cert !== undefined && flags.key !== undefined
        ? { certFile: flags.cert, keyFile: flags.key }
        : {}),
      ...(policyFile === undefined ? {} : { policyFile }),
      ...(flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig }),
      installNamespace: flags.installNamespace,
      drainSeconds,
    });
  } catch (error) {
    if (error instanceof StartupError) throw new UsageError(error.message);
    throw error;
  }
  const { logger } = webhook;
  logger.info(
    {
      url: `https://localhost:${webhook.https.port}`,
      policy: policyFile ?? 'embedded defaults',
      startupMs: Date.now() - started,
    },
    `meshwarden ready at https://localhost:${webhook.https.port} (POST /mutate, /validate)`,
  );

  const stop = (signal: NodeJS.Signals) => {
    // SIGINT (Ctrl-C in development) skips the drain window; SIGTERM (Kubernetes) honours it.
    void webhook.shutdown(signal === 'SIGINT' ? 0 : drainSeconds).then(() => {
      logger.flush();
      process.exit(0);
    });
    // A hung drain must not hold the pod past its grace period.
    setTimeout(
      () => {
        logger.error('drain did not finish in time; exiting');
        process.exit(1);
      },
      (drainSeconds + 25) * 1000,
    ).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
