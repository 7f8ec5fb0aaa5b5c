import type { Mutator, Note, RuleContext } from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import type { MetadataMatch, SidecarInjection } from '../mesh/adapter.js';
import { meshAdapter } from '../mesh/registry.js';
import { asRecord, ensureRecord, type JsonRecord } from '../util/objects.js';
import { podTemplate, WORKLOAD_KINDS } from './pod-template.js';
import { workloadScope, workloadSkipReason } from './workload-scope.js';

const RULE = 'sidecar-injection';

/**
 * Adds the injection marker of the mesh in force to workload pod templates (CONTRACT §5), creating
 * the `metadata` and `labels`/`annotations` maps when they are missing. A value the owner chose is
 * kept: an opt-out, or another value the injector reads as "inject".
 */
export const sidecarInjectionMarker: Mutator = {
  name: RULE,
  kinds: WORKLOAD_KINDS,
  operations: ['CREATE', 'UPDATE'],
  skipReason: workloadSkipReason,
  mutate(draft: KubeObject, ctx: RuleContext): readonly Note[] | undefined {
    if (!ctx.policy.sidecarInjection.enabled) return undefined;
    const injection = meshAdapter(ctx.mesh).injection;
    if (!injection) return undefined;
    // Without a template there is no pod to mark (and the API server refuses the object); a
    // Rollout with spec.workloadRef is marked through the Deployment it names.
    const template = podTemplate(draft);
    if (!template || !needsMarker(template, injection, ctx.namespaceLabels)) return undefined;
    const { marker } = injection;
    const scope = workloadScope(ctx);
    if (scope.mode === 'audit') {
      const where = marker.on === 'label' ? 'label' : 'annotation';
      return [
        {
          rule: RULE,
          audit: `${scope.reason}: would add the ${where} ${marker.key}=${marker.value}`,
        },
      ];
    }
    const metadata = ensureRecord(template, 'metadata');
    ensureRecord(metadata, marker.on === 'label' ? 'labels' : 'annotations')[marker.key] =
      marker.value;
    return undefined;
  },
};

/** Should this pod template get the marker written (added, or put in place of a stray value)? */
export function needsMarker(
  template: JsonRecord,
  injection: SidecarInjection,
  namespaceLabels: Readonly<Record<string, string>> | undefined,
): boolean {
  const metadata = asRecord(template.metadata);
  const read = (m: Pick<MetadataMatch, 'on' | 'key'>): unknown =>
    asRecord(m.on === 'label' ? metadata?.labels : metadata?.annotations)?.[m.key];
  const { marker } = injection;
  const current = scalarText(read(marker));
  // Injectors differ on case for "inject" (Linkerd reads `Enabled` as invalid), so only an exact
  // opt-in is kept; anything that looks like an opt-out is kept whatever its case.
  if (current !== undefined && [marker.value, ...marker.optInValues].includes(current))
    return false;
  if (isOneOf(current, marker.optOutValues)) return false;
  if (injection.podOptOuts.some((m) => isOneOf(scalarText(read(m)), m.values))) return false;
  return !injection.namespaceOptOuts.some(
    (m) => m.on === 'label' && isOneOf(namespaceLabels?.[m.key], m.values),
  );
}

/** Label and annotation values are strings on the wire; YAML read offline may give scalars. */
function scalarText(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number'
    ? String(value)
    : undefined;
}

function isOneOf(value: string | undefined, values: readonly string[]): boolean {
  if (value === undefined) return false;
  const lower = value.toLowerCase();
  return values.some((v) => v.toLowerCase() === lower);
}
