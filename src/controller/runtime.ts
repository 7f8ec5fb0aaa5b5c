import type { Logger } from 'pino';
import type { ClusterView } from '../admission/cluster-view.js';
import type { PolicyStore } from '../policy/store.js';
import type { PolicySpec } from '../policy/types.js';
import type { Metrics } from '../observability/metrics.js';
import { CertificateManager, type KeyPairSink } from './certificates/manager.js';
import type { CertificateTiming } from './certificates/plan.js';
import type { ReplicaProbe } from './certificates/probe.js';
import { Discovery } from './discovery.js';
import { startDiscoveryLoop, type DiscoveryLoop } from './discovery-loop.js';
import { EventRecorder } from './events.js';
import { Informer, type BackoffOptions, type InformerOptions } from './informer.js';
import { createKubeClient, loadKubeConfig, type KubeClient } from './kube-client.js';
import { LeaderElector, type LeaderElectionTiming } from './leader-election.js';
import { MeshDetector } from './mesh-detection.js';
import { PolicyConfigMaps } from './policy-configmaps.js';
import { PreferredVersionCache } from './preferred-version-cache.js';
import { TrafficSplitReconciler, type Translate } from './traffic-split-reconciler.js';
import { ConsultedObjects, translateFromView } from './translation-inputs.js';

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
  /**
   * `namespace/name` of the ServiceAccount this controller writes as (`--controller-service-account`):
   * the webhook lets its writes of translated routes through after checking them.
   */
  readonly controllerServiceAccount?: string;
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
  /** Records Events (written by the leader only). */
  readonly events: EventRecorder;
  /** The `--policy` file changed. */
  setBasePolicy(spec: PolicySpec): void;
  stop(): Promise<void>;
}

/** A cluster setting that cannot work (unreadable kubeconfig, not in a pod): a start-up error. */
export class ClusterConfigError extends Error {}

/** What every part of the controller is built with. */
interface Base {
  readonly client: KubeClient;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly informer: Omit<InformerOptions, 'logger'>;
  readonly discovery: Discovery;
  readonly events: EventRecorder;
  /** False until the elector exists. */
  readonly isLeader: () => boolean;
}

/** The watch caches the admission path and translation read. */
interface Caches {
  readonly namespaces: Informer;
  readonly services: Informer;
  /** Flagger Canaries and Argo Rollouts for the weight-shift guard (verifying their writes). */
  readonly canaries: PreferredVersionCache;
  readonly rollouts: PreferredVersionCache;
  /** HTTPRouteGroups for TrafficSplit matches. */
  readonly routeGroups: PreferredVersionCache;
  /** The mesh objects translation consults (ServiceDefaults, VirtualNodes, ...). */
  readonly consulted: ConsultedObjects;
}

/** The parts built from the options; the elector starts them once it exists. */
interface Parts {
  readonly cluster: ClusterView;
  readonly caches: Caches;
  readonly meshDetector: MeshDetector;
  readonly reconciler: TrafficSplitReconciler;
  readonly policyConfigMaps: PolicyConfigMaps;
  readonly certificates: CertificateManager | undefined;
}

/**
 * Connects to a cluster. Every replica keeps the watch caches the admission path reads
 * (namespaces, Services, Flagger Canaries, Argo Rollouts, TrafficSplits, policy ConfigMaps, the
 * TLS Secret) and serves admission; the
 * replica holding the leader Lease also writes: native routing objects, Events, the TLS Secret,
 * caBundles. Nothing here blocks on the API server: an unreachable API server leaves the
 * replica not ready (no policy loaded yet) while watches retry.
 */
export async function startClusterRuntime(options: ClusterRuntimeOptions): Promise<ClusterRuntime> {
  const client = await connect(options);
  const leadership: { elector?: LeaderElector } = {};
  const base = controllerBase(client, options, () => leadership.elector?.isLeader ?? false);
  const parts = buildParts(base, options);
  const leader = electLeader(base, options, parts);
  leadership.elector = leader;
  const discoveryLoop = await startParts(base, options, parts, leader);
  return runtimeHandle(base, parts, leader, discoveryLoop);
}

async function connect(options: ClusterRuntimeOptions): Promise<KubeClient> {
  try {
    const config = await loadKubeConfig({
      ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
      ...(options.inCluster ? { inCluster: true } : {}),
    });
    return createKubeClient(config);
  } catch (error) {
    throw new ClusterConfigError((error as Error).message);
  }
}

function controllerBase(
  client: KubeClient,
  options: ClusterRuntimeOptions,
  isLeader: () => boolean,
): Base {
  const { metrics } = options;
  const backoff = options.tuning?.informerBackoff;
  const log = options.logger.child({ component: 'controller' });
  return {
    client,
    log,
    metrics,
    informer: {
      ...(backoff ? { backoff } : {}),
      onRestart: (source) => metrics.watchRestarts.inc({ resource: source.name }),
    },
    discovery: new Discovery(client),
    events: new EventRecorder({ client, logger: log, instance: options.identity, isLeader }),
    isLeader,
  };
}

function watchCaches(base: Base): Caches {
  const { client, discovery, log } = base;
  const informer = { ...base.informer, logger: log };
  const core = (kind: string, resource: string) =>
    new Informer(
      client,
      { name: resource, apiVersion: 'v1', kind, path: `/api/v1/${resource}` },
      informer,
    );
  const preferred = (group: string, kind: string, resource: string) =>
    new PreferredVersionCache(client, discovery, { group, kind, resource }, informer);
  return {
    namespaces: core('Namespace', 'namespaces'),
    // Translation needs the root Service's ports (HTTPRoute, App Mesh, Gloo) and the
    // HTTPRouteGroups that `spec.matches` names: both come from watch caches.
    services: core('Service', 'services'),
    canaries: preferred('flagger.app', 'Canary', 'canaries'),
    rollouts: preferred('argoproj.io', 'Rollout', 'rollouts'),
    routeGroups: preferred('specs.smi-spec.io', 'HTTPRouteGroup', 'httproutegroups'),
    consulted: new ConsultedObjects(client, discovery, informer),
  };
}

function buildParts(base: Base, options: ClusterRuntimeOptions): Parts {
  const { client, discovery, events, isLeader, metrics, log, informer } = base;
  const { policy } = options;
  const tuning = options.tuning ?? {};
  const caches = watchCaches(base);
  const meshDetector = new MeshDetector({
    client,
    discovery,
    metrics,
    logger: log,
    fallbackMesh: () => policy.cluster.fallbackMesh,
  });
  // What the rules may know, from the watch caches only (never an API call on the admission path).
  const cluster: ClusterView = {
    namespaceLabels: (ns) => caches.namespaces.get(ns)?.metadata?.labels,
    namespaceAnnotations: (ns) => caches.namespaces.get(ns)?.metadata?.annotations,
    // A namespace created moments before its first workload may not be in the cache yet: it
    // counts as carrying no labels, so the workload rules audit rather than refuse an install.
    unknownNamespaces: 'unlabelled',
    detectedMesh: () => meshDetector.detectedMesh(),
    canary: (ns, name) => caches.canaries.current()?.get(name, ns),
    canaries: (ns) => caches.canaries.current()?.list(ns) ?? [],
    rollouts: (ns) => caches.rollouts.current()?.list(ns) ?? [],
    trafficSplit: (ns, name) => reconciler.split(ns, name),
    services: (ns) => caches.services.list(ns),
    httpRouteGroups: (ns) => caches.routeGroups.current()?.list(ns) ?? [],
    meshObjects: (ns) => caches.consulted.list(ns),
    complete: true,
    controllerServiceAccount: () => options.controllerServiceAccount,
  };
  const reconciler = new TrafficSplitReconciler({
    client,
    discovery,
    policy,
    cluster,
    translate: tuning.translate ?? translateFromView(cluster, discovery),
    events,
    isLeader,
    metrics,
    logger: log,
    informer,
    ...(tuning.blockedRetryMs === undefined ? {} : { blockedRetryMs: tuning.blockedRetryMs }),
    ...(tuning.retryBackoff ? { retryBackoff: tuning.retryBackoff } : {}),
  });
  const policyConfigMaps = new PolicyConfigMaps({
    client,
    store: policy,
    installNamespace: options.installNamespace,
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
  const parts = {
    cluster,
    caches,
    meshDetector,
    reconciler,
    policyConfigMaps,
    certificates: certificateManager(base, options),
  };
  requeueOnCacheChanges(parts);
  return parts;
}

/** A namespace's labels, a Service's ports or a route group's matches change its splits. */
function requeueOnCacheChanges({ caches, reconciler }: Parts): void {
  caches.namespaces.on('update', (ns) => reconciler.enqueueNamespace(ns.metadata?.name ?? ''));
  caches.services.on('change', (svc) => reconciler.enqueueNamespace(svc.metadata?.namespace ?? ''));
  caches.routeGroups.onChange((g) => reconciler.enqueueNamespace(g.metadata?.namespace ?? ''));
  caches.consulted.onChange((o) => reconciler.enqueueNamespace(o.metadata?.namespace ?? ''));
}

function certificateManager(
  base: Base,
  options: ClusterRuntimeOptions,
): CertificateManager | undefined {
  const certificates = options.certificates;
  if (!certificates) return undefined;
  const tuning = options.tuning ?? {};
  return new CertificateManager({
    client: base.client,
    namespace: options.installNamespace,
    secretName: certificates.secretName,
    service: certificates.service,
    ...(certificates.mutatingWebhook ? { mutatingWebhook: certificates.mutatingWebhook } : {}),
    ...(certificates.validatingWebhook
      ? { validatingWebhook: certificates.validatingWebhook }
      : {}),
    isLeader: base.isLeader,
    logger: base.log,
    events: base.events,
    informer: base.informer,
    ...(tuning.certificates ? { timing: tuning.certificates } : {}),
    ...(tuning.probe ? { probe: tuning.probe } : {}),
    ...(tuning.clock ? { clock: tuning.clock } : {}),
  });
}

function electLeader(base: Base, options: ClusterRuntimeOptions, parts: Parts): LeaderElector {
  const { metrics } = base;
  const leaderElection = options.tuning?.leaderElection;
  const leader = new LeaderElector({
    client: base.client,
    namespace: options.installNamespace,
    name: options.leaderLease,
    identity: options.identity,
    logger: base.log,
    ...(leaderElection ? { timing: leaderElection } : {}),
    onStartedLeading: () => {
      metrics.leader.set(1);
      parts.reconciler.enqueueAll();
      parts.policyConfigMaps.reportOutstanding();
      parts.certificates?.requestReconcile();
    },
    onStoppedLeading: () => metrics.leader.set(0),
  });
  metrics.leader.set(0);
  return leader;
}

async function startParts(
  base: Base,
  options: ClusterRuntimeOptions,
  parts: Parts,
  leader: LeaderElector,
): Promise<DiscoveryLoop> {
  parts.caches.namespaces.start();
  parts.caches.services.start();
  parts.policyConfigMaps.start();
  parts.certificates?.start();
  await parts.reconciler.start();
  const tuning = options.tuning ?? {};
  const discoveryLoop = startDiscoveryLoop({
    discovery: base.discovery,
    logger: base.log,
    reconciler: parts.reconciler,
    meshDetector: parts.meshDetector,
    followers: [
      parts.caches.canaries,
      parts.caches.rollouts,
      parts.caches.routeGroups,
      ...parts.caches.consulted.caches,
    ],
    ...(tuning.discoveryRefreshMs === undefined ? {} : { refreshMs: tuning.discoveryRefreshMs }),
    ...(tuning.resyncMs === undefined ? {} : { resyncMs: tuning.resyncMs }),
  });
  leader.start();
  base.log.info(
    {
      identity: options.identity,
      lease: `${options.installNamespace}/${options.leaderLease}`,
      certificates: options.certificates ? 'self-managed' : 'external',
    },
    'cluster runtime started',
  );
  return discoveryLoop;
}

function runtimeHandle(
  base: Base,
  parts: Parts,
  leader: LeaderElector,
  discoveryLoop: DiscoveryLoop,
): ClusterRuntime {
  const { cluster, caches, reconciler, policyConfigMaps, meshDetector, certificates } = parts;
  return {
    cluster,
    client: base.client,
    leader,
    reconciler,
    policyConfigMaps,
    meshDetector,
    certificates,
    attachServer: (sink) => certificates?.attach(sink),
    events: base.events,
    setBasePolicy: (spec) => policyConfigMaps.setBase(spec),
    async stop() {
      discoveryLoop.stop();
      await reconciler.stop();
      await certificates?.stop();
      await leader.stop();
      base.metrics.leader.set(0);
      await Promise.all([
        caches.namespaces.stop(),
        caches.services.stop(),
        policyConfigMaps.stop(),
        caches.canaries.stop(),
        caches.rollouts.stop(),
        caches.routeGroups.stop(),
        caches.consulted.stop(),
      ]);
    },
  };
}
