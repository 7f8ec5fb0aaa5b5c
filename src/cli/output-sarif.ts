import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { toWarning } from '../admission/warnings.js';
import type { Enforcement } from '../policy/types.js';
import { kindNamer } from './kind-names.js';
import type { ReviewReport } from './report.js';
import type { ReviewResult } from './review.js';
import { packageVersion } from './version.js';

/** What each rule checks, for the SARIF rule list; the test of this file wants every rule here. */
export const RULE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  'version-label-default': 'fills a missing version label from the image tag or name suffix',
  'sidecar-injection': "adds the mesh's sidecar-injection marker to pod templates",
  'stable-backends': "records each route root's stable backend",
  'weight-change-stamp': 'stamps meshwarden.io/last-weight-change when traffic moves',
  'namespace-enforce-label': 'only overrideGroups may change the meshwarden.io/enforce label',
  'policy-configmap': 'policy ConfigMaps hold a valid policy that only tightens',
  'traffic-split': 'SMI TrafficSplits are well formed',
  'version-labels': 'workloads carry an app label and a version label',
  'weight-shift': 'traffic moves to a canary in steps no larger than the policy allows',
  'canary-bounds': "Flagger Canaries' steps stay within the policy",
  'rollout-bounds': "Argo Rollouts' steps stay within the policy",
  input: 'input that cannot be read or parsed',
  warning: 'a warning the webhook would return',
};

const LEVEL: Record<Enforcement, 'error' | 'warning' | 'note'> = {
  enforce: 'error',
  warn: 'warning',
  audit: 'note',
};

type Json = Record<string, unknown>;

/**
 * `review -o sarif`: a SARIF 2.1.0 log (code scanning, as conftest writes it). Every finding
 * of a rule is a result (enforce: error, warn: warning, audit: note) located at its field's
 * line; a reason a rule let an object pass is a result of kind `pass`; input that cannot be
 * read is an error result; a document that is no Kubernetes object a tool notification.
 */
export function formatSarif(report: ReviewReport): string {
  const kindName = kindNamer(report.results);
  const results: Json[] = [];
  for (const r of report.results) results.push(...objectResults(r, kindName(r)));
  for (const e of report.errors)
    results.push({
      ruleId: 'input',
      level: 'error',
      message: { text: e.message },
      locations: [location(e.file, e.line)],
    });
  const ruleIds = [...new Set(results.map((r) => r.ruleId as string))].sort();
  for (const r of results) r.ruleIndex = ruleIds.indexOf(r.ruleId as string);
  const version = packageVersion();
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'meshwarden',
            version,
            semanticVersion: version,
            rules: ruleIds.map((id) => ({
              id,
              shortDescription: { text: RULE_DESCRIPTIONS[id] ?? `meshwarden rule ${id}` },
            })),
          },
        },
        invocations: [
          {
            executionSuccessful: report.errors.length === 0,
            toolExecutionNotifications: report.skipped.map((s) => ({
              level: 'note',
              message: { text: s.reason },
              locations: [location(s.file, s.line)],
            })),
          },
        ],
        results,
      },
    ],
  };
  return JSON.stringify(log, null, 2);
}

function objectResults(r: ReviewResult, kind: string): Json[] {
  const object = `${kind} ${r.namespace === null ? '' : `${r.namespace}/`}${r.name}`;
  const at = (source: string) => {
    const colon = source.lastIndexOf(':');
    return {
      ...location(source.slice(0, colon), Number(source.slice(colon + 1))),
      logicalLocations: [{ name: r.name, fullyQualifiedName: object, kind: 'object' }],
    };
  };
  const out: Json[] = r.violations.map((v) => ({
    ruleId: v.rule,
    level: LEVEL[v.enforcement],
    message: { text: `${object} (${r.operation}): ${v.message}` },
    locations: [at(v.source)],
  }));
  // A denial with no finding behind it (rules that did not finish in time).
  if (!r.allowed && !r.violations.some((v) => v.enforcement === 'enforce'))
    out.push({
      ruleId: r.reason?.replace(/^denied by /, '') ?? 'input',
      level: 'error',
      message: { text: `${object} (${r.operation}): ${r.message ?? 'denied'}` },
      locations: [at(r.source)],
    });
  const fromFindings = new Set(
    r.violations
      .filter((v) => v.enforcement === 'warn')
      .map((v) => toWarning(v.summary ?? v.message)),
  );
  for (const w of r.warnings)
    if (!fromFindings.has(w))
      out.push({
        ruleId: 'warning',
        level: 'warning',
        message: { text: `${object} (${r.operation}): ${w}` },
        locations: [at(r.source)],
      });
  for (const p of r.passed)
    out.push({
      ruleId: p.rule,
      kind: 'pass',
      level: 'none',
      message: { text: `${object} (${r.operation}) passed: ${p.reason}` },
      locations: [at(r.source)],
    });
  return out;
}

function location(file: string, line: number | undefined): Json {
  return {
    physicalLocation: {
      artifactLocation: { uri: fileUri(file) },
      ...(line === undefined || !Number.isInteger(line) || line < 1
        ? {}
        : { region: { startLine: line } }),
    },
  };
}

/** A relative path stays relative (code scanning resolves it against the checkout). */
function fileUri(file: string): string {
  if (file === '<stdin>') return 'stdin';
  if (isAbsolute(file)) return pathToFileURL(file).href;
  return file
    .replaceAll('\\', '/')
    .replace(/^(\.\/)+/, '')
    .split('/')
    .map(encodeURIComponent)
    .join('/');
}
