import type { StaticClusterFacts } from '../admission/cluster-view.js';
import type { KubeObject } from '../k8s/objects.js';
import { TRAFFIC_SPLIT_GROUP } from '../traffic/smi/api.js';
import { isHttpRouteGroup } from '../traffic/route-groups.js';
import { splitApiVersion } from '../util/api-version.js';

/** The namespace kubectl (and `review`) use for a namespaced object without one. */
const DEFAULT_NAMESPACE = 'default';

/**
 * `review --context`: the objects the webhook's watch caches would give the controller-trust
 * checks (controller/runtime.ts): Services, Flagger Canaries, Argo Rollouts, TrafficSplits and
 * HTTPRouteGroups, each with its namespace as the API server would set it.
 */
export function watchCacheFacts(
  objects: readonly KubeObject[],
): Pick<
  StaticClusterFacts,
  'canaries' | 'rollouts' | 'trafficSplits' | 'services' | 'httpRouteGroups'
> {
  const facts = {
    canaries: [] as KubeObject[],
    rollouts: [] as KubeObject[],
    trafficSplits: [] as KubeObject[],
    services: [] as KubeObject[],
    httpRouteGroups: [] as KubeObject[],
  };
  for (const object of objects) {
    const kind = typeof object.kind === 'string' ? object.kind : '';
    const { group } = splitApiVersion(
      typeof object.apiVersion === 'string' ? object.apiVersion : '',
    );
    const namespaced = withNamespace(object);
    if (group === '' && kind === 'Service') facts.services.push(namespaced);
    else if (group === 'flagger.app' && kind === 'Canary') facts.canaries.push(namespaced);
    else if (group === 'argoproj.io' && kind === 'Rollout') facts.rollouts.push(namespaced);
    else if (group === TRAFFIC_SPLIT_GROUP && kind === 'TrafficSplit')
      facts.trafficSplits.push(namespaced);
    else if (isHttpRouteGroup(object)) facts.httpRouteGroups.push(namespaced);
  }
  return facts;
}

function withNamespace(object: KubeObject): KubeObject {
  if (object.metadata?.namespace) return object;
  return { ...object, metadata: { ...object.metadata, namespace: DEFAULT_NAMESPACE } };
}
