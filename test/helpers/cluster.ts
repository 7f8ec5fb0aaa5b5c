/** Shared pieces of the controller tests: fixtures for the fake API server, a fake translation. */
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { parseAllDocuments } from 'yaml';
import { EventRecorder } from '../../src/controller/events.js';
import type { KubeClient } from '../../src/controller/kube-client.js';
import type { KubeObject } from '../../src/k8s/objects.js';
import type { MeshId } from '../../src/mesh/ids.js';
import { createMetrics } from '../../src/observability/metrics.js';
import type { TranslationResult } from '../../src/translation/translate.js';
import type { FakeApiServer } from './fake-api-server.js';

export const silentLogger = (): Logger => pino({ level: 'silent' });

/**
 * What every TrafficSplit reconciler under test shares: silent events, logs and metrics, and
 * short backoffs so retries happen within a test's time.
 */
export function reconcilerTestTuning(client: KubeClient, isLeader: () => boolean = () => true) {
  return {
    events: new EventRecorder({ client, logger: silentLogger(), instance: 'test', isLeader }),
    isLeader,
    metrics: createMetrics({ defaultMetrics: false }),
    logger: silentLogger(),
    informer: { backoff: { initialMs: 20, maxMs: 100 } },
    blockedRetryMs: 50,
    retryBackoff: { initialMs: 20, maxMs: 100 },
  };
}

/** A logger whose lines land in `lines` (JSON objects), for asserting what was logged. */
export function recordingLogger(lines: Record<string, unknown>[]): Logger {
  return pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
}

/** Polls until `probe` returns something truthy; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/controller/${name}`, import.meta.url), 'utf8');

function crds(name: string): unknown[] {
  return parseAllDocuments(fixture(name))
    .map((d) => d.toJS() as unknown)
    .filter((d) => (d as { kind?: string } | null)?.kind === 'CustomResourceDefinition');
}

/** linkerd-smi's TrafficSplit CRD: v1alpha1 (storage) and v1alpha2, conversion None. */
export function installLinkerdSmiCrd(fake: FakeApiServer) {
  return fake.installCrd(crds('linkerd-smi_trafficsplit-crd.yaml')[0]);
}

/** smi-sdk-go's TrafficSplit CRD: v1alpha4 only. */
export function installSmiSdkCrd(fake: FakeApiServer) {
  return fake.installCrd(crds('smi-sdk-go_split.yaml')[0]);
}

export function installFlaggerCrd(fake: FakeApiServer) {
  const canary = crds('flagger_crd.yaml').find(
    (c) => (c as { metadata: { name: string } }).metadata.name === 'canaries.flagger.app',
  );
  return fake.installCrd(canary);
}

/** Istio's VirtualService, as its CRD bundle serves it (v1 preferred, v1beta1, v1alpha3). */
export function installIstioVirtualService(fake: FakeApiServer): void {
  fake.defineResource({
    group: 'networking.istio.io',
    versions: ['v1', 'v1beta1', 'v1alpha3'],
    resource: 'virtualservices',
    kind: 'VirtualService',
    namespaced: true,
  });
}

export function installHttpRoute(fake: FakeApiServer): void {
  fake.defineResource({
    group: 'gateway.networking.k8s.io',
    versions: ['v1', 'v1beta1'],
    resource: 'httproutes',
    kind: 'HTTPRoute',
    namespaced: true,
  });
}

export function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export function trafficSplit(
  ns: string,
  name: string,
  backends: { service: string; weight: number | string }[],
  apiVersion = 'split.smi-spec.io/v1alpha2',
  service = name,
): KubeObject {
  return {
    apiVersion,
    kind: 'TrafficSplit',
    metadata: { name, namespace: ns },
    spec: { service, backends },
  };
}

export function policyConfigMap(ns: string, policyYaml: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'meshwarden-policy', namespace: ns },
    data: { 'policy.yaml': policyYaml },
  };
}

/**
 * A deterministic stand-in for the translation: an Istio VirtualService (or, for linkerd and
 * gateway-api, an HTTPRoute) named after the root service, weights as integer percentages
 * (largest remainder), with a warning for each non-zero weight rounded to zero.
 */
export function fakeTranslate(split: KubeObject, mesh: MeshId): TranslationResult {
  const spec = split.spec as {
    service?: string;
    backends?: { service: string; weight: unknown }[];
  };
  const backends = spec.backends ?? [];
  const raw = backends.map((b) => toNumber(b.weight));
  if (raw.some((w) => Number.isNaN(w))) return { ok: false, error: 'a weight is not a number' };
  const total = raw.reduce((a, b) => a + b, 0);
  if (total <= 0) return { ok: false, error: 'the weights sum to 0' };
  const exact = raw.map((w) => (w * 100) / total);
  const out = exact.map(Math.floor);
  let rest = 100 - out.reduce((a, b) => a + b, 0);
  const order = exact
    .map((q, i) => ({ i, frac: q - Math.floor(q) }))
    .filter((x) => (raw[x.i] ?? 0) > 0)
    .sort((a, b) => b.frac - a.frac);
  for (const { i } of order) {
    if (rest-- <= 0) break;
    out[i] = (out[i] ?? 0) + 1;
  }
  const warnings = backends
    .filter((_, i) => (raw[i] ?? 0) > 0 && out[i] === 0)
    .map((b) => `backend ${b.service}: weight rounded to 0%`);
  const name = spec.service ?? split.metadata?.name ?? '';
  const namespace = split.metadata?.namespace;
  if (mesh === 'linkerd' || mesh === 'gateway-api' || mesh === 'kuma') {
    return {
      ok: true,
      warnings,
      objects: [
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'HTTPRoute',
          metadata: { name, namespace },
          spec: {
            parentRefs: [{ group: '', kind: 'Service', name, port: 80 }],
            rules: [
              {
                backendRefs: backends.map((b, i) => ({
                  name: b.service,
                  port: 80,
                  weight: out[i],
                })),
              },
            ],
          },
        },
      ],
    };
  }
  return {
    ok: true,
    warnings,
    objects: [
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name, namespace },
        spec: {
          hosts: [name],
          http: [
            {
              route: backends.map((b, i) => ({
                destination: { host: b.service },
                weight: out[i],
              })),
            },
          ],
        },
      },
    ],
  };
}

function toNumber(weight: unknown): number {
  if (typeof weight === 'number') return weight;
  if (typeof weight === 'string') {
    const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(weight);
    if (m) return Number(m[1]) * (m[2] === 'm' ? 1 : 1000);
  }
  return NaN;
}
