import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/k8s/objects.js';
import { parseManifestText, type InputError, type SourcedObject } from '../../src/cli/manifests.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/traffic');
export const CORPUS = join(FIXTURES, 'corpus');
/** The shared reference corpus, present in a working checkout but not in a fresh clone. */
export const SHARED_REFERENCE = join(
  dirname(fileURLToPath(import.meta.url)),
  '../../../shared/reference',
);

export function listFiles(dir: string, pattern: RegExp): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...listFiles(full, pattern));
    else if (pattern.test(entry)) out.push(full);
  }
  return out;
}

/** Every object of a manifest file (multi-document, Lists expanded), with its line. */
export function loadManifest(file: string): { objects: SourcedObject[]; errors: InputError[] } {
  const objects: SourcedObject[] = [];
  const errors: InputError[] = [];
  parseManifestText(readFileSync(file, 'utf8'), relative(FIXTURES, file), objects, errors);
  return { objects, errors };
}

/**
 * The YAML examples of an smi-spec traffic-split Markdown file. The v1alpha3/v1alpha4 snippets
 * leave out apiVersion; it is filled in from the file's own version (TrafficSplit in
 * split.smi-spec.io, HTTPRouteGroup in specs.smi-spec.io).
 */
export function markdownExamples(version: string): KubeObject[] {
  const file = join(CORPUS, `smi-spec/apis/traffic-split/${version}/traffic-split.md`);
  const text = readFileSync(file, 'utf8');
  const objects: KubeObject[] = [];
  const fence = /^([ \t]*)```yaml\n([\s\S]*?)^[ \t]*```/gm;
  for (const m of text.matchAll(fence)) {
    const body = m[2] ?? '';
    const lines = body.split('\n');
    const indent = Math.min(
      ...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length),
    );
    const dedented = lines.map((l) => l.slice(indent)).join('\n');
    for (const doc of parseAllDocuments(dedented)) {
      const value = doc.toJS() as KubeObject | null;
      if (!value) continue;
      if (value.apiVersion === undefined && value.kind === 'TrafficSplit')
        value.apiVersion = `split.smi-spec.io/${version}`;
      if (value.apiVersion === undefined && value.kind === 'HTTPRouteGroup')
        value.apiVersion = `specs.smi-spec.io/${version}`;
      objects.push(value);
    }
  }
  return objects;
}

/** The `openAPIV3Schema` of one version of a CRD in a fixture file (bundles allowed). */
export function crdSchema(file: string, crdName: string, version: string): object {
  // Charts ship some CRDs as Helm templates: only whole `{{ ... }}` lines are templating there.
  const text = readFileSync(join(FIXTURES, 'crds', file), 'utf8')
    .split('\n')
    .filter((line) => !/^\s*\{\{.*\}\}\s*$/.test(line) && !/:\s*\{\{.*\}\}/.test(line))
    .join('\n');
  const docs = parseAllDocuments(text).map(
    (d) => d.toJS() as { metadata?: { name?: string }; spec?: { versions?: unknown[] } } | null,
  );
  const crd = docs.find((d) => d?.metadata?.name === crdName);
  const entry = (
    crd?.spec?.versions as { name: string; schema: { openAPIV3Schema: object } }[] | undefined
  )?.find((v) => v.name === version);
  if (!entry) throw new Error(`${crdName} ${version} not found in ${file}`);
  return entry.schema.openAPIV3Schema;
}

export function yamlValue(text: string): unknown {
  return parse(text);
}
