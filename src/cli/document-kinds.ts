import { basename } from 'node:path';
import { isRecord } from '../util/objects.js';

export const helmTemplateHint = 'looks like a Helm template: render it with helm template first';

/**
 * Template actions only Helm charts use: its built-in objects and its include/toYaml idioms.
 * Plain `{{ ... }}` is not enough: rendered ConfigMaps carry Alertmanager or Go templates.
 */
const HELM_ACTION =
  /\{\{-?[^}]*?(?:\.(?:Values|Release|Chart|Capabilities)\b|\binclude\s+"|\btoYaml\b|\bnindent\b)/;

export function looksLikeHelmTemplate(text: string): boolean {
  return HELM_ACTION.test(text);
}

/** Why a document is no Kubernetes object: an error, or a skip (an error under `--strict`). */
export type NotAManifest =
  | { readonly error: string; readonly skip?: undefined; readonly strict?: undefined }
  | { readonly error?: undefined; readonly skip: string; readonly strict: string };

/**
 * Undefined for a document to review (it has apiVersion and kind, or is an AdmissionRequest).
 * A document that is half a Kubernetes object (metadata without a kind, `apiversion`) is an
 * error, so a typo never passes CI as "skipped"; a file of another tool is skipped.
 */
export function notAManifest(
  value: unknown,
  file: string,
  helm: boolean,
): NotAManifest | undefined {
  if (!isRecord(value)) {
    if (helm) return { error: helmTemplateHint };
    return {
      skip: 'not a Kubernetes manifest (a YAML list or scalar, no apiVersion and kind)',
      strict: 'document is not a mapping (expected a Kubernetes object)',
    };
  }
  // An AdmissionRequest body: the reviewer decodes it (its kind is a group/version/kind).
  if (isRecord(value.kind) && 'uid' in value) return undefined;
  const { apiVersion, kind, metadata } = value;
  if (typeof apiVersion === 'string' && typeof kind === 'string') {
    // `name: {{ .Release.Name }}` parses as a flow mapping; quoted, as a string with braces.
    const name = isRecord(metadata) ? metadata.name : undefined;
    const templated =
      [apiVersion, kind, ...metadataNames(metadata)].some((s) => s.includes('{{')) ||
      (isRecord(name) && Object.keys(name).some((k) => k.startsWith('{'))) ||
      (helm && name !== undefined && typeof name !== 'string');
    return templated ? { error: helmTemplateHint } : undefined;
  }
  if (helm) return { error: helmTemplateHint };
  const misspelt = Object.keys(value).find(
    (k) => k !== 'apiVersion' && k !== 'kind' && /^(api_?version|kind)$/i.test(k),
  );
  if (misspelt !== undefined)
    return {
      error: `document has "${misspelt}"; Kubernetes spells it ${/kind/i.test(misspelt) ? 'kind' : 'apiVersion'}`,
    };
  const missing = [
    ...(typeof apiVersion === 'string' ? [] : ['apiVersion']),
    ...(typeof kind === 'string' ? [] : ['kind']),
  ].join(' and ');
  if (isRecord(metadata))
    return { error: `document has metadata but no ${missing}: not a complete Kubernetes object` };
  return {
    skip:
      basename(file) === 'Chart.yaml'
        ? "not a Kubernetes manifest (a Helm chart's Chart.yaml)"
        : `not a Kubernetes manifest (no ${missing})`,
    strict: 'document has no apiVersion and kind (not a Kubernetes object)',
  };
}

function metadataNames(metadata: unknown): string[] {
  if (!isRecord(metadata)) return [];
  const labels = isRecord(metadata.labels) ? metadata.labels : {};
  return [
    metadata.name,
    metadata.namespace,
    metadata.generateName,
    ...Object.keys(labels),
    ...Object.values(labels),
  ].filter((v): v is string => typeof v === 'string');
}
