import type { RouteKind } from '../read-common.js';
import { knativeFlow } from './flow.js';
import { readKnativeTraffic } from './read.js';

/** Knative Serving's Service and Route: their `traffic` blocks are weighted routes. */
export const KNATIVE_ROUTE_KINDS: readonly RouteKind[] = (['Service', 'Route'] as const).map(
  (kind) => ({
    id: `knative-${kind.toLowerCase()}`,
    group: 'serving.knative.dev',
    kind,
    versions: ['v1'],
    read: readKnativeTraffic,
    flow: knativeFlow,
  }),
);
