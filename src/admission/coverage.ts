import type { KindRef, SkippedKind } from './rule.js';
import type { AdmissionRequest, Operation } from './types.js';

/** Why a review's kind (or its API version) gets no rule, for `skipped`. */
export function kindNotChecked(
  request: AdmissionRequest,
  candidates: readonly {
    readonly kinds: readonly KindRef[];
    readonly operations: readonly Operation[];
  }[],
  skippedKinds: readonly SkippedKind[],
): string {
  const { group, version, kind } = request.kind;
  const apiVersion = group === '' ? version : `${group}/${version}`;
  const known = skippedKinds.find((k) => k.group === group && k.kind === kind);
  if (known) return `kind not checked: ${kind} (${known.reason})`;
  if (candidates.length === 0) return `kind not checked: ${apiVersion} ${kind}`;
  const versions = [
    ...new Set(
      candidates.flatMap((r) =>
        r.kinds
          .filter((k) => k.group === group && k.kind === kind)
          .flatMap((k) => k.versions ?? []),
      ),
    ),
  ];
  if (versions.length > 0 && !versions.includes(version))
    return `kind not checked: ${apiVersion} ${kind} (checked in ${versions.map((v) => (group === '' ? v : `${group}/${v}`)).join(', ')})`;
  return operationNotChecked(request.operation);
}

export function operationNotChecked(operation: Operation): string {
  return `operation ${operation} not checked`;
}
