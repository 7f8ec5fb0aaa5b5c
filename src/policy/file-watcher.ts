import { readFile, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import { formatPolicyErrors, MAX_POLICY_BYTES, parsePolicyText } from './load.js';
import type { PolicySpec } from './types.js';

export interface PolicyFileWatchOptions {
  /** Counts reloads and rejected files (`policyReloads`, `policyReloadErrors`). */
  readonly metrics: Pick<Metrics, 'policyReloads' | 'policyReloadErrors'>;
  readonly logger: Logger;
  /** How often the file is checked. */
  readonly pollMs: number;
  /** How long a changed file must stand still before it is read. */
  readonly settleMs?: number;
}

/**
 * Reloads the policy file when it changes; an invalid file leaves the last valid policy in force.
 * A change is loaded only once the file has stood still for a poll and `settleMs`, and only if it
 * did not change while being read: an editor or `cp` writing in place would otherwise hand over
 * the first half of a policy, which can be valid YAML with the rest left at defaults. Returns the
 * function that stops watching.
 */
export function watchPolicyFile(
  file: string,
  apply: (spec: PolicySpec) => void,
  options: PolicyFileWatchOptions,
): () => void {
  const { metrics, logger, pollMs, settleMs = 500 } = options;
  const stampOf = async () => {
    const s = await stat(file).catch(() => undefined);
    return s
      ? { stamp: `${s.ino}:${s.size}:${s.mtimeMs}`, mtimeMs: s.mtimeMs, size: s.size }
      : undefined;
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
    const refused = (message: string) => {
      metrics.policyReloadErrors.inc({ source: file });
      logger.error(
        { file },
        `policy ${file} is invalid; the last valid policy stays in force:\n${message}`,
      );
    };
    if (before.size > MAX_POLICY_BYTES) {
      // Refused unread: a 10 MB file would cost hundreds of MB and seconds of parsing.
      loaded = before.stamp;
      refused(
        `${file}: the policy is ${before.size} bytes; at most ${MAX_POLICY_BYTES} bytes are read`,
      );
      return;
    }
    const text = await readFile(file, 'utf8');
    if ((await stampOf())?.stamp !== before.stamp) return;
    loaded = before.stamp;
    let result;
    try {
      result = parsePolicyText(text);
    } catch (error) {
      // A parser failure is still a failed reload: counted, and the last policy stays.
      refused(`${file}: cannot be read as a policy (${(error as Error).message})`);
      return;
    }
    if (!result.ok) {
      metrics.policyReloadErrors.inc({ source: file });
      logger.error(
        { errors: result.errors },
        `policy ${file} is invalid; the last valid policy stays in force:\n${formatPolicyErrors(result.errors, file)}`,
      );
      return;
    }
    apply(result.policy.spec);
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
