import type { Logger } from 'pino';
import type { ClusterView } from '../admission/cluster-view.js';
import type { KubeObject } from '../k8s/objects.js';
import type { PolicyStore } from '../policy/store.js';
import type { PolicySpec } from '../policy/types.js';
import type { Metrics } from '../observability/metrics.js';
import { translateTrafficSplit } from '../traffic/translate.js';
import { CertificateManager, type KeyPairSink } from './certificates/manager.js';
import type { CertificateTiming } from './certificates/plan.js';
import type { ReplicaProbe } from './certificates/probe.js';
import { Discovery } from './discovery.js';
import { EventRecorder } from './events.js';
import { describeError, Informer, type BackoffOptions, type InformerOptions } from './informer.js';
import {
  collectionPath,
  createKubeClient,
  loadKubeConfig,
  type KubeClient,
} from './kube-client.js';
import { LeaderElector, type LeaderElectionTiming } from './leader-election.js';
import { MeshDetector } from './mesh-detection.js';
import { PolicyConfigMaps } from './policy-configmaps.js';
import { TrafficSplitReconciler, type Translate } from './traffic-split-reconciler.js';

/** Timings and seams; production uses the defaults, tests shorten them. */
export interface ControllerTuning {
  readonly leaderElection?: LeaderElectionTiming;
  /** Discovery and mesh detection refresh. */
  readonly discoveryRefreshMs?: number;
  /** Every TrafficSplit is reconciled again this often, whatever the watches said. */
  readonly resyncMs?: number;
  readonly informerBackoff?: BackoffOptions;
  readonly blockedRetryMs?: number;
  readonly retryBackoff?: { readonly initialMs: number; readonly maxMs: number };
  readonly certificates?: Partial<CertificateTiming>;
  readonly probe?: ReplicaProbe;
  readonly clock?: () => Date;
  readonly translate?: Translate;
}

export interface SelfManagedCertificates {
  readonly secretName: string;
  readonly service: string;
  readonly mutatingWebhook?: string;
  readonly validatingWebhook?: string;
}

export interface ClusterRuntimeOptions {
  /** A kubeconfig file (out of cluster); or `inCluster` for the pod's service account. */
  readonly kubeconfig?: string;
  readonly inCluster?: boolean;
  readonly installNamespace: string;
  /** Constructed not loaded: readiness waits for the first policy ConfigMap list. */
  readonly policy: PolicyStore;
  /** What is in force when the install namespace has no valid policy ConfigMap. */
  readonly basePolicy: PolicySpec;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** This replica (leader identity, Event reportingInstance). */
  readonly identity: string;
  readonly leaderLease: string;
  /** Unset: certificates come from files (external mode). */
  readonly certificates?: SelfManagedCertificates;
  readonly tuning?: ControllerTuning;
}

export interface ClusterRuntime {
  readonly cluster: ClusterView;
  readonly client: KubeClient;
  readonly leader: LeaderElector;
  readonly reconciler: TrafficSplitReconciler;
  readonly policyConfigMaps: PolicyConfigMaps;
  readonly meshDetector: MeshDetector;
  readonly certificates: CertificateManager | undefined;
  /** Self-managed mode: where the TLS Secret's pair goes (the HTTPS server). */
  attachServer(sink: KeyPairSink): void;
  /** The `--policy` file changed. */
  setBasePolicy(spec: PolicySpec): void;
  stop(): Promise<void>;
}

/** A cluster setting that cannot work (unreadable kubeconfig, not in a pod): a start-up error. */
export class ClusterConfigError extends Error {}

/**
 * Connects to a cluster. Every replica keeps the watch caches the admission path reads
 * (namespaces, Flagger Canaries, policy ConfigMaps, the TLS Secret) and serves admission; the
 * replica holding the leader Lease also writes: native routing objects, Events, the TLS Secret,
 * caBundles. Nothing here blocks on the API server: an unreachable API server leaves the
 * replica not ready (no policy loaded yet) while watches retry.
 */
export async function startClusterRuntime(options: ClusterRuntimeOptions): Promise<ClusterRuntime> {
  const { logger, metrics, policy, installNamespace } = options;
  const tuning = options.tuning ?? {};
  let client: KubeClient;
  try {
    const config = await loadKubeConfig({
      ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
      ...(options.inCluster ? { inCluster: true } : {}),
    });
    client = createKubeClient(config);
  } catch (error) {
    throw new ClusterConfigError((error as Error).message);
  }
  const informer: Omit<InformerOptions, 'logger'> = {
    ...(tuning.informerBackoff ? { backoff: tuning.informerBackoff } : {}),
    onRestart: (source) => metrics.watchRestarts.inc({ resource: source.name }),
  };
  const log = logger.child({ component: 'controller' });

  // The elector is built below; nothing asks before it exists.
  const isLeader = (): boolean => leader.isLeader;
  const events = new EventRecorder({ client, logger: log, instance: options.identity, isLeader });
  const discovery = new Discovery(client);

  const namespaces = new Informer(
    client,
    { name: 'namespaces', apiVersion: 'v1', kind: 'Namespace', path: '/api/v1/namespaces' },
    { ...informer, logger: log },
  );
  // Translation needs the root Service's ports (HTTPRoute, App Mesh, Gloo) and the
  // HTTPRouteGroups that `spec.matches` names: both come from watch caches.
  const services = new Informer(
    client,
    { name: 'services', apiVersion: 'v1', kind: 'Service', path: '/api/v1/services' },
    { ...informer, logger: log },
  );
  const meshDetector = new MeshDetector({
    client,
    discovery,
    metrics,
    logger: log,
    fallbackMesh: () => policy.cluster.fallbackMesh,
  });
  const cluster: ClusterView = {
    namespaceLabels: (ns) => namespaces.get(ns)?.metadata?.labels,
    detectedMesh: () => meshDetector.detectedMesh(),
    canary: (ns, name) => canaryCache.current()?.get(name, ns),
  };

  const reconciler = new TrafficSplitReconciler({
    client,
    discovery,
    policy,
    cluster,
    translate:
      tuning.translate ??
      ((split, mesh) => {
        const namespace = split.metadata?.namespace;
        return translateTrafficSplit(split, mesh, {
          services: services.list(namespace),
          routeGroups: routeGroupCache.current()?.list(namespace) ?? [],
        });
      }),
    events,
    isLeader,
    metrics,
    logger: log,
    informer,
    ...(tuning.blockedRetryMs === undefined ? {} : { blockedRetryMs: tuning.blockedRetryMs }),
    ...(tuning.retryBackoff ? { retryBackoff: tuning.retryBackoff } : {}),
  });
  namespaces.on('update', (ns) => reconciler.enqueueNamespace(ns.metadata?.name ?? ''));
  // A Service's ports or a route group's matches change what its namespace's splits translate to.
  services.on('change', (svc) => reconciler.enqueueNamespace(svc.metadata?.namespace ?? ''));

  const policyConfigMaps = new PolicyConfigMaps({
    client,
    store: policy,
    installNamespace,
    base: options.basePolicy,
    metrics,
    logger: log,
    events,
    informer,
    onClusterPolicyChange: () => {
      meshDetector.reevaluate();
      reconciler.enqueueAll();
    },
  });

  const certificates = options.certificates
    ? new CertificateManager({
        client,
        namespace: installNamespace,
        secretName: options.certificates.secretName,
        service: options.certificates.service,
        ...(options.certificates.mutatingWebhook
          ? { mutatingWebhook: options.certificates.mutatingWebhook }
          : {}),
        ...(options.certificates.validatingWebhook
          ? { validatingWebhook: options.certificates.validatingWebhook }
          : {}),
        isLeader,
        logger: log,
        events,
        informer,
        ...(tuning.certificates ? { timing: tuning.certificates } : {}),
        ...(tuning.probe ? { probe: tuning.probe } : {}),
        ...(tuning.clock ? { clock: tuning.clock } : {}),
      })
    : undefined;

  const leader = new LeaderElector({
    client,
    namespace: installNamespace,
    name: options.leaderLease,
    identity: options.identity,
    logger: log,
    ...(tuning.leaderElection ? { timing: tuning.leaderElection } : {}),
    onStartedLeading: () => {
      metrics.leader.set(1);
      reconciler.enqueueAll();
      policyConfigMaps.reportOutstanding();
      certificates?.requestReconcile();
    },
    onStoppedLeading: () => metrics.leader.set(0),
  });
  metrics.leader.set(0);

  /**
   * A cache of one kind in the preferred version its group serves, following discovery: started
   * when the group appears, restarted when the preferred version changes, stopped when it goes.
   */
  const followPreferredVersion = (
    group: string,
    kind: string,
    resource: string,
    onChange?: (object: KubeObject) => void,
  ) => {
    let cache: Informer | undefined;
    return {
      current: () => cache,
      async sync() {
        const version = discovery.groups().get(group)?.preferredVersion;
        const apiVersion = version === undefined ? undefined : `${group}/${version}`;
        if (cache && cache.source.apiVersion === apiVersion) return;
        await cache?.stop();
        cache = undefined;
        if (apiVersion === undefined || !(await discovery.resolve(apiVersion, kind))) return;
        cache = new Informer(
          client,
          {
            name: `${resource}.${apiVersion}`,
            apiVersion,
            kind,
            path: collectionPath(apiVersion, resource),
          },
          { ...informer, logger: log },
        );
        if (onChange) cache.on('change', onChange);
        cache.start();
      },
      stop: () => cache?.stop(),
    };
  };
  // Flagger Canaries for the weight-shift guard; HTTPRouteGroups for TrafficSplit matches.
  const canaryCache = followPreferredVersion('flagger.app', 'Canary', 'canaries');
  const routeGroupCache = followPreferredVersion(
    'specs.smi-spec.io',
    'HTTPRouteGroup',
    'httproutegroups',
    (g) => reconciler.enqueueNamespace(g.metadata?.namespace ?? ''),
  );

  let stopped = false;
  let refreshTimer: NodeJS.Timeout | undefined;
  const refreshMs = tuning.discoveryRefreshMs ?? 60_000;
  const refresh = async () => {
    let nextInMs = refreshMs;
    try {
      const changed = await discovery.refresh();
      if (changed) {
        await reconciler.syncWithDiscovery();
        await canaryCache.sync();
        await routeGroupCache.sync();
      }
      const before = meshDetector.detectedMesh();
      const decision = await meshDetector.refresh();
      if (changed || decision.mesh !== before) reconciler.enqueueAll();
    } catch (error) {
      log.warn({ err: describeError(error) }, 'API discovery failed; retrying');
      nextInMs = Math.min(refreshMs, 5_000);
    }
    if (stopped) return;
    refreshTimer = setTimeout(() => void refresh(), nextInMs);
    refreshTimer.unref();
  };
  const resync = setInterval(() => reconciler.enqueueAll(), tuning.resyncMs ?? 300_000);
  resync.unref();

  namespaces.start();
  services.start();
  policyConfigMaps.start();
  certificates?.start();
  await reconciler.start();
  void refresh();
  leader.start();
  log.info(
    {
      identity: options.identity,
      lease: `${installNamespace}/${options.leaderLease}`,
      certificates: options.certificates ? 'self-managed' : 'external',
    },
    'cluster runtime started',
  );

  return {
    cluster,
    client,
    leader,
    reconciler,
    policyConfigMaps,
    meshDetector,
    certificates,
    attachServer: (sink) => certificates?.attach(sink),
    setBasePolicy: (spec) => policyConfigMaps.setBase(spec),
    async stop() {
      stopped = true;
      clearTimeout(refreshTimer);
      clearInterval(resync);
      await reconciler.stop();
      await certificates?.stop();
      await leader.stop();
      metrics.leader.set(0);
      await Promise.all([
        namespaces.stop(),
        services.stop(),
        policyConfigMaps.stop(),
        canaryCache.stop(),
        routeGroupCache.stop(),
      ]);
    },
  };
}
