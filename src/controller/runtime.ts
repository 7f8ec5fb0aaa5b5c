import type { Logger } from 'pino';
import type { ClusterView } from '../admission/cluster-view.js';
import type { PolicyStore } from '../policy/store.js';
import type { Metrics } from '../server/metrics.js';

export interface ClusterRuntimeOptions {
  readonly kubeconfig: string;
  readonly installNamespace: string;
  readonly policy: PolicyStore;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export interface ClusterRuntime {
  readonly cluster: ClusterView;
  stop(): Promise<void>;
}

/** Connects to a cluster: watch caches, policy ConfigMaps, mesh detection, reconciler. */
export function startClusterRuntime(_options: ClusterRuntimeOptions): Promise<ClusterRuntime> {
  return Promise.reject(new Error('--kubeconfig: the in-cluster controller is not built yet'));
}
