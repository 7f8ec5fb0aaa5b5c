import { splitTranslationInputs } from '../admission/cluster-view.js';
import type { RuleContext } from '../admission/rule.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../k8s/keys.js';
import type { KubeObject } from '../k8s/objects.js';
import { compare, formatPercent, sharesById, ZERO } from '../traffic/rational.js';
import { readWeightedRoutes } from '../mesh/routes.js';
import { TRAFFIC_SPLIT_GROUP } from '../traffic/smi/api.js';
import { translateTrafficSplit } from '../translation/translate.js';
import { splitApiVersion } from '../util/api-version.js';
import { asArray, isRecord } from '../util/objects.js';
import { objectRoutes } from './route-backends.js';
import type { ControllerVerdict } from './trust-common.js';

/**
 * meshwarden's own controller (controller/traffic-split-reconciler.ts) writes the translation of
 * a TrafficSplit, labelled `app.kubernetes.io/managed-by: meshwarden` and with a controller
 * ownerReference to the split. The split itself was judged when it was written, so the write
 * passes when its weights are exactly what translating the cached split gives, the same way
 * the reconciler translates it (same mesh; Services, HTTPRouteGroups and the mesh objects it
 * consults from the caches, which are complete: `splitTranslationInputs`).
 */

/** The TrafficSplit a meshwarden-managed object claims to be translated from. */
export function ownedByTrafficSplit(
  object: KubeObject,
): { readonly name: string; readonly uid: string | undefined } | undefined {
  if (object.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) return undefined;
  for (const ref of asArray(object.metadata.ownerReferences) ?? []) {
    if (
      isRecord(ref) &&
      ref.kind === 'TrafficSplit' &&
      ref.controller === true &&
      typeof ref.apiVersion === 'string' &&
      splitApiVersion(ref.apiVersion).group === TRAFFIC_SPLIT_GROUP &&
      typeof ref.name === 'string'
    )
      return { name: ref.name, uid: typeof ref.uid === 'string' ? ref.uid : undefined };
  }
  return undefined;
}

export function meshwardenVerdict(
  object: KubeObject,
  ctx: RuleContext,
  account: string,
): ControllerVerdict {
  const who = `meshwarden's controller ${account}`;
  const namespace = object.metadata?.namespace ?? ctx.request.namespace ?? '';
  const judge = (why: string): ControllerVerdict => ({
    controller: 'meshwarden',
    decision: 'judge',
    reason: `${who} not trusted for this write: ${why}`,
  });
  const owner = ownedByTrafficSplit(object);
  if (!owner)
    return judge(
      `it writes only objects it owns (a controller ownerReference to a TrafficSplit and the label ${MANAGED_BY_LABEL}: ${MANAGED_BY_VALUE}), and this one is not`,
    );
  const id = `${namespace}/${owner.name}`;
  const split = ctx.cluster.trafficSplit(namespace, owner.name);
  if (!split)
    return judge(`TrafficSplit ${id} is not known to meshwarden (not in the watch cache)`);
  if (split.metadata?.uid === undefined || split.metadata.uid !== owner.uid)
    return judge(
      `its ownerReference to TrafficSplit ${id} has uid ${owner.uid ?? 'none'}, but that split's uid is ${split.metadata?.uid ?? 'unknown'}`,
    );
  const result = translateTrafficSplit(
    split,
    ctx.mesh,
    splitTranslationInputs(ctx.cluster, namespace),
  );
  if (!result.ok)
    return judge(`TrafficSplit ${id} does not translate for ${ctx.mesh}: ${result.error}`);
  const { group } = splitApiVersion(object.apiVersion ?? '');
  const counterpart = result.objects.find(
    (o) =>
      o.kind === object.kind &&
      splitApiVersion(o.apiVersion ?? '').group === group &&
      o.metadata?.name === object.metadata?.name,
  );
  if (!counterpart)
    return judge(
      `translating TrafficSplit ${id} for ${ctx.mesh} gives no ${object.kind ?? ''} ${object.metadata?.name ?? ''}`,
    );
  const difference = weightDifference(object, counterpart, ctx, namespace);
  if (difference !== undefined)
    return judge(
      `its weights are not the translation of TrafficSplit ${id} for ${ctx.mesh}: ${difference}`,
    );
  return {
    controller: 'meshwarden',
    decision: 'allow',
    reason: `${who}: the translation of TrafficSplit ${id} for ${ctx.mesh}`,
  };
}

/** How the written object's weights differ from the translation's; undefined when they match. */
function weightDifference(
  object: KubeObject,
  expected: KubeObject,
  ctx: RuleContext,
  namespace: string,
): string | undefined {
  const written = objectRoutes(object, ctx);
  const wanted = readWeightedRoutes(expected, { namespace });
  if (!written || written.errors > 0) return 'the object cannot be read';
  if (!wanted.supported) return 'the translation cannot be read';
  const byKey = new Map(wanted.splits.map((s) => [s.key, s]));
  if (wanted.splits.length !== written.routes.length)
    return `it has ${written.routes.length} weighted routes, the translation ${wanted.splits.length}`;
  for (const route of written.routes) {
    const split = byKey.get(route.split.key);
    if (!split) return `${route.split.label} is not in the translation`;
    const expectedShares = sharesById(split);
    const ids = new Set([...route.split.backends, ...split.backends].map((b) => b.id));
    for (const backendId of ids) {
      const got = route.shares?.get(backendId) ?? ZERO;
      const want = expectedShares?.get(backendId) ?? ZERO;
      if (compare(got, want) !== 0) {
        const name =
          [...route.split.backends, ...split.backends].find((b) => b.id === backendId)?.name ??
          backendId;
        return `${route.split.label}: ${name} gets ${formatPercent(got)}, the translation ${formatPercent(want)}`;
      }
    }
  }
  return undefined;
}
