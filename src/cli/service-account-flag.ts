import { UsageError } from './errors.js';

/** RFC 1123 label `/` RFC 1123 subdomain: a ServiceAccount as `namespace/name`. */
const SERVICE_ACCOUNT = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Checks a `--controller-service-account namespace/name` flag. */
export function serviceAccountFlag(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!SERVICE_ACCOUNT.test(value))
    throw new UsageError(`${flag} takes namespace/name of a ServiceAccount; got "${value}"`);
  return value;
}
