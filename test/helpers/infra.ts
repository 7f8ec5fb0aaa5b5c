import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseManifestText, type InputError, type SourcedObject } from '../../src/cli/manifests.js';
import type { KubeObject } from '../../src/k8s/objects.js';
import { parsePolicyOrConfigMap } from '../../src/policy/load.js';
import type { PolicySpec } from '../../src/policy/types.js';
import { find, NAMESPACE, render } from '../charts/helm.js';

/** Rendered upstream charts, copied unchanged from the reference corpus (see its SOURCES.md). */
export const INFRA_FIXTURES = 'test/fixtures/infra';

export interface InfraObject extends SourcedObject {
  /** The chart folder, or `meshwarden` for this repository's chart. */
  readonly chart: string;
}

/** Every object of every rendered chart, plus meshwarden's own chart rendered by the real helm. */
export function infraObjects(): InfraObject[] {
  const out: InfraObject[] = [];
  for (const chart of readdirSync(INFRA_FIXTURES).sort()) {
    if (chart.endsWith('.md')) continue;
    const file = join(INFRA_FIXTURES, chart, 'rendered.yaml');
    const objects: SourcedObject[] = [];
    const errors: InputError[] = [];
    parseManifestText(readFileSync(file, 'utf8'), file, objects, errors);
    if (errors.length > 0) throw new Error(`${file}: ${JSON.stringify(errors)}`);
    out.push(...objects.map((o) => ({ ...o, chart })));
  }
  render().objects.forEach((object, i) =>
    out.push({
      object: object,
      file: 'charts/meshwarden',
      line: i + 1,
      chart: 'meshwarden',
    }),
  );
  return out;
}

/** The policy `helm install` with default values puts in force (the rendered ConfigMap). */
export function chartDefaultPolicy(): PolicySpec {
  const cm = find(render().objects, 'ConfigMap', 'meshwarden-policy');
  const result = parsePolicyOrConfigMap(stringify(cm));
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy.spec;
}

/** The namespaces the objects live in, as `helm install --create-namespace` creates them. */
export function namespacesOf(objects: readonly SourcedObject[]): KubeObject[] {
  const names = new Set<string>([NAMESPACE]);
  for (const { object } of objects)
    if (typeof object.metadata?.namespace === 'string') names.add(object.metadata.namespace);
  return [...names].sort().map((name) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
  }));
}

/** Namespace labels by name, as a cluster view holds them. */
export function labelsByName(
  namespaces: readonly KubeObject[],
): Record<string, Record<string, string>> {
  return Object.fromEntries(
    namespaces.map((n) => [n.metadata?.name ?? '', n.metadata?.labels ?? {}]),
  );
}

const WORKLOADS = new Set([
  'apps/Deployment',
  'apps/StatefulSet',
  'apps/DaemonSet',
  'argoproj.io/Rollout',
]);

export function isWorkload(object: KubeObject): boolean {
  const slash = (object.apiVersion ?? '').indexOf('/');
  const group = slash === -1 ? '' : (object.apiVersion ?? '').slice(0, slash);
  return WORKLOADS.has(`${group}/${object.kind ?? ''}`);
}

export function isJob(object: KubeObject): boolean {
  return (
    (object.apiVersion ?? '').startsWith('batch/') && ['Job', 'CronJob'].includes(object.kind ?? '')
  );
}
