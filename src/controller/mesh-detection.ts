import type { Logger } from 'pino';
import type { KubeObject } from '../k8s/objects.js';
import { detectionApiGroups, matchesNamePattern } from '../mesh/adapter.js';
import { MESH_IDS, type MeshId } from '../mesh/ids.js';
import { meshAdapters } from '../mesh/registry.js';
import type { Metrics } from '../observability/metrics.js';
import { asArray, asRecord, asString } from '../util/objects.js';
import type { Discovery } from './discovery.js';
import { describeError } from './informer.js';
import { KubeApiError, type KubeClient } from './kube-client.js';

/**
 * How one mesh shows itself in a cluster, derived from its adapter's `detection` (src/mesh): the
 * adapter is the one place these facts live. Name patterns use `*` for any run of characters.
 */
export interface MeshSignature {
  readonly mesh: MeshId;
  /** API groups served by the mesh's CRDs. Weak evidence: CRDs outlive uninstalls. */
  readonly apiGroups: readonly string[];
  /** Name patterns of the injector's entries in MutatingWebhookConfigurations (`webhooks[].name`). */
  readonly injectorWebhooks: readonly string[];
  /** Control-plane Deployments (name patterns) in the namespace the mesh's installer uses by default. */
  readonly controlPlane: readonly { readonly namespace: string; readonly name: string }[];
}

/** One signature per mesh, in registry order. */
export const MESH_SIGNATURES: readonly MeshSignature[] = meshAdapters().map(
  ({ id, detection }) => ({
    mesh: id,
    apiGroups: detectionApiGroups(detection),
    injectorWebhooks: detection.webhookEntries,
    controlPlane: detection.controlPlane.map((d) => ({
      namespace: d.usualNamespace,
      name: d.name,
    })),
  }),
);

/** The order that breaks ties between several meshes found with equal evidence. */
export const DETECTION_ORDER: readonly MeshId[] = MESH_SIGNATURES.map((s) => s.mesh);

export type EvidenceKind = 'api-group' | 'injector-webhook' | 'control-plane';

export interface MeshEvidence {
  readonly mesh: MeshId;
  readonly kind: EvidenceKind;
  /** What was seen, e.g. `Deployment istio-system/istiod`. */
  readonly detail: string;
}

export interface MeshDecision {
  /** The mesh `mesh: auto` means, or undefined when none was found (then `fallbackMesh`). */
  readonly mesh: MeshId | undefined;
  /** Meshes that tied on the strongest evidence, in DETECTION_ORDER. */
  readonly candidates: readonly MeshId[];
  readonly basis: 'control-plane' | 'api-groups' | 'gateway-api' | 'none';
  readonly reason: string;
}

/**
 * The detection rule (docs/cluster.md, "Mesh detection"):
 * 1. A mesh with a running control plane (an injector webhook entry or a control-plane
 *    Deployment not scaled to zero) beats a mesh known only by its API groups.
 * 2. Without any control plane, meshes whose API groups are served are the candidates;
 *    Gateway API counts only when no mesh API group is served at all.
 * 3. Several candidates: the policy's `fallbackMesh` when it is one of them, else the first in
 *    the order of the mesh registry (src/mesh/registry.ts).
 * 4. Nothing found: no detected mesh; `auto` then means `fallbackMesh`.
 */
export function decideMesh(evidence: readonly MeshEvidence[], fallbackMesh: MeshId): MeshDecision {
  const strong = ordered(
    evidence.filter((e) => e.kind !== 'api-group' && e.mesh !== 'gateway-api').map((e) => e.mesh),
  );
  const weak = ordered(
    evidence.filter((e) => e.kind === 'api-group' && e.mesh !== 'gateway-api').map((e) => e.mesh),
  );
  const gatewayApi = evidence.some((e) => e.mesh === 'gateway-api');
  let candidates: MeshId[];
  let basis: MeshDecision['basis'];
  if (strong.length > 0) [candidates, basis] = [strong, 'control-plane'];
  else if (weak.length > 0) [candidates, basis] = [weak, 'api-groups'];
  else if (gatewayApi) [candidates, basis] = [['gateway-api'], 'gateway-api'];
  else return { mesh: undefined, candidates: [], basis: 'none', reason: 'no mesh found' };
  const mesh = candidates.includes(fallbackMesh) ? fallbackMesh : candidates[0];
  const seen = evidence
    .filter((e) => e.mesh === mesh)
    .map((e) => e.detail)
    .join(', ');
  const reason =
    candidates.length === 1
      ? `found ${seen}`
      : `several meshes found (${candidates.join(', ')}); chose ${String(mesh)} ${
          mesh === fallbackMesh ? 'because it is the policy fallbackMesh' : 'by detection order'
        }; set the namespace label meshwarden.io/mesh or spec.mesh to choose`;
  return { mesh, candidates, basis, reason };
}

function ordered(meshes: readonly MeshId[]): MeshId[] {
  return DETECTION_ORDER.filter((m) => meshes.includes(m));
}

/** Reads the evidence: served API groups, mutating webhook entries, control-plane Deployments. */
export async function gatherEvidence(
  client: KubeClient,
  discovery: Discovery,
  signatures: readonly MeshSignature[] = MESH_SIGNATURES,
  onDenied: (what: string, error: unknown) => void = () => {},
): Promise<MeshEvidence[]> {
  const evidence: MeshEvidence[] = [];
  for (const s of signatures)
    for (const group of s.apiGroups)
      if (discovery.hasGroup(group))
        evidence.push({ mesh: s.mesh, kind: 'api-group', detail: `API group ${group}` });

  const webhookEntries: string[] = [];
  try {
    const list = await client.list(
      '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
    );
    for (const config of list.items)
      for (const hook of asArray(config.webhooks) ?? []) {
        const name = asString(asRecord(hook)?.name);
        if (name !== undefined) webhookEntries.push(name);
      }
  } catch (error) {
    onDenied('mutatingwebhookconfigurations', error);
  }
  for (const s of signatures) {
    const entry = webhookEntries.find((n) =>
      s.injectorWebhooks.some((p) => matchesNamePattern(p, n)),
    );
    if (entry !== undefined)
      evidence.push({
        mesh: s.mesh,
        kind: 'injector-webhook',
        detail: `injector webhook ${entry}`,
      });
  }

  const namespaces = [
    ...new Set(signatures.flatMap((s) => s.controlPlane.map((c) => c.namespace))),
  ];
  const deployments = new Map<string, KubeObject[]>();
  await Promise.all(
    namespaces.map(async (ns) => {
      try {
        const list = await client.list(`/apis/apps/v1/namespaces/${ns}/deployments`);
        deployments.set(ns, list.items);
      } catch (error) {
        onDenied(`deployments in ${ns}`, error);
      }
    }),
  );
  for (const s of signatures) {
    for (const cp of s.controlPlane) {
      const found = (deployments.get(cp.namespace) ?? []).find(
        (d) =>
          matchesNamePattern(cp.name, d.metadata?.name ?? '') && asRecord(d.spec)?.replicas !== 0,
      );
      if (found) {
        evidence.push({
          mesh: s.mesh,
          kind: 'control-plane',
          detail: `Deployment ${cp.namespace}/${found.metadata?.name ?? ''}`,
        });
        break;
      }
    }
  }
  return evidence;
}

export interface MeshDetectorOptions {
  readonly client: KubeClient;
  readonly discovery: Discovery;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** The policy's fallbackMesh, read at each decision (it can change with the policy). */
  readonly fallbackMesh: () => MeshId;
  readonly signatures?: readonly MeshSignature[];
}

/** Keeps the detected mesh current; `detectedMesh()` is a field read (admission hot path). */
export class MeshDetector {
  readonly #options: MeshDetectorOptions;
  #evidence: readonly MeshEvidence[] = [];
  #decision: MeshDecision | undefined;
  #denied = new Set<string>();

  constructor(options: MeshDetectorOptions) {
    this.#options = options;
  }

  detectedMesh(): MeshId | undefined {
    return this.#decision?.mesh;
  }

  get decision(): MeshDecision | undefined {
    return this.#decision;
  }

  /** Gathers the evidence again (discovery must be fresh) and decides. */
  async refresh(): Promise<MeshDecision> {
    const { client, discovery, logger } = this.#options;
    this.#evidence = await gatherEvidence(
      client,
      discovery,
      this.#options.signatures,
      (what, error) => {
        // Missing RBAC is reported once, not every refresh.
        if (this.#denied.has(what)) return;
        this.#denied.add(what);
        const forbidden = error instanceof KubeApiError && error.code === 403;
        logger.warn(
          { err: describeError(error) },
          `mesh detection cannot read ${what}${forbidden ? ' (RBAC)' : ''}; deciding without it`,
        );
      },
    );
    return this.reevaluate();
  }

  /** Decides again from the last evidence (after the policy's fallbackMesh changed). */
  reevaluate(): MeshDecision {
    const decision = decideMesh(this.#evidence, this.#options.fallbackMesh());
    const before = this.#decision;
    this.#decision = decision;
    // The gauge shows the mesh in force for `mesh: auto`: the fallback when none was found.
    const inForce = decision.mesh ?? this.#options.fallbackMesh();
    for (const mesh of MESH_IDS)
      this.#options.metrics.detectedMesh.set({ mesh }, mesh === inForce ? 1 : 0);
    if (before?.mesh !== decision.mesh || before?.reason !== decision.reason) {
      const log = {
        mesh: decision.mesh ?? null,
        basis: decision.basis,
        candidates: decision.candidates,
      };
      if (decision.candidates.length > 1)
        this.#options.logger.warn(log, `mesh detection: ${decision.reason}`);
      else
        this.#options.logger.info(
          log,
          decision.mesh === undefined
            ? `mesh detection: no mesh found; mesh: auto means the policy fallbackMesh ${this.#options.fallbackMesh()}`
            : `mesh detection: ${decision.mesh} (${decision.reason})`,
        );
    }
    return decision;
  }
}
