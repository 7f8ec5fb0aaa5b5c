import type { RuleContext } from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import { splitApiVersion } from '../util/api-version.js';
import { asRecord, asString } from '../util/objects.js';
import { podTemplate } from './pod-template.js';

/** Where the pod template of a reviewed workload is. */
export type TemplateSource =
  | { readonly from: 'self' }
  /** A Rollout's `spec.workloadRef`, and the object it names when the cluster view knows it. */
  | { readonly from: 'reference'; readonly id: string; readonly object: KubeObject | undefined };

const SELF: TemplateSource = { from: 'self' };

/**
 * A Rollout without `spec.template` takes the template of the Deployment its `spec.workloadRef`
 * names: Argo copies that template into the ReplicaSets it creates (and scales the Deployment to
 * zero). Every other workload carries its own template.
 */
export function templateSource(object: KubeObject, ctx: RuleContext): TemplateSource {
  const { group, kind } = ctx.request.kind;
  if (group !== 'argoproj.io' || kind !== 'Rollout' || podTemplate(object) !== undefined)
    return SELF;
  const ref = asRecord(asRecord(object.spec)?.workloadRef);
  if (ref === undefined) return SELF;
  const refKind = asString(ref.kind) ?? 'Deployment';
  const name = asString(ref.name) ?? '';
  const namespace = ctx.request.namespace ?? object.metadata?.namespace ?? '';
  const id = `${refKind} ${namespace}/${name}`;
  const refGroup = splitApiVersion(asString(ref.apiVersion) ?? 'apps/v1').group;
  const found =
    name === '' || namespace === ''
      ? undefined
      : ctx.cluster.object?.(refGroup, refKind, namespace, name);
  return { from: 'reference', id, object: found };
}
