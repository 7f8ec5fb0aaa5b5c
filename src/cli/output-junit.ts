import { kindNamer } from './kind-names.js';
import { sourceOf, type ReviewReport } from './report.js';
import type { ReviewResult } from './review.js';

/**
 * `review -o junit`: the JUnit XML that CI systems read as test results, as conftest and
 * kubeconform write it. One testsuite per file, one testcase per object: a denial is a
 * `<failure>`, input that cannot be read an `<error>`, an object no rule looks at (or a document
 * that is no Kubernetes object) `<skipped>`. Warnings, audit records, passed reasons and the
 * patch go to `<system-out>`.
 */
export function formatJunit(report: ReviewReport): string {
  const kindName = kindNamer(report.results);
  const suites = new Map<string, Case[]>();
  const add = (file: string, c: Case) => {
    const cases = suites.get(file) ?? [];
    cases.push(c);
    suites.set(file, cases);
  };
  for (const r of report.results) add(fileOf(r.source), resultCase(r, kindName(r)));
  for (const s of report.skipped)
    add(s.file, { name: `document at ${sourceOf(s)}`, outcome: { skipped: s.reason } });
  for (const e of report.errors)
    add(e.file, { name: `input ${sourceOf(e)}`, outcome: { error: e.message } });

  const all = [...suites.values()].flat();
  const totals = counts(all);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="meshwarden review" tests="${all.length}" failures="${totals.failures}" errors="${totals.errors}" skipped="${totals.skipped}" time="0">`,
  ];
  let id = 0;
  for (const [file, cases] of suites) {
    const c = counts(cases);
    out.push(
      `  <testsuite name="${attr(file)}" id="${id++}" tests="${cases.length}" failures="${c.failures}" errors="${c.errors}" skipped="${c.skipped}" time="0">`,
    );
    for (const tc of cases) out.push(...caseXml(tc, file));
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n');
}

interface Case {
  readonly name: string;
  readonly outcome:
    | { readonly failure: string; readonly type: string }
    | { readonly error: string }
    | { readonly skipped: string }
    | { readonly passed: true };
  readonly out?: string;
}

function resultCase(r: ReviewResult, kind: string): Case {
  const name = `${kind} ${r.namespace === null ? '' : `${r.namespace}/`}${r.name} (${r.operation}) ${r.source}`;
  const out = [
    ...r.warnings.map((w) => `warning: ${w}`),
    // Passed reasons are audit records too; they are listed once, as `passed:`.
    ...(r.result === 'audit'
      ? Object.entries(r.audit).map(([rule, text]) => `audit: ${rule}: ${text}`)
      : []),
    ...r.passed.map((p) => `passed: ${p.reason} (${p.rule})`),
    ...r.patch.map((op) => `${r.allowed ? 'patch' : 'would also be patched'}: ${op.op} ${op.path}`),
  ].join('\n');
  const withOut = out === '' ? {} : { out };
  if (!r.allowed)
    return {
      name,
      outcome: {
        failure: r.message ?? 'denied',
        type: r.reason?.replace(/^denied by /, '') ?? 'denied',
      },
      ...withOut,
    };
  if (r.result === 'skipped')
    return { name, outcome: { skipped: r.reason ?? 'no rule applies' }, ...withOut };
  return { name, outcome: { passed: true }, ...withOut };
}

function caseXml(tc: Case, file: string): string[] {
  const open = `    <testcase name="${attr(tc.name)}" classname="${attr(file)}" time="0"`;
  const body: string[] = [];
  const o = tc.outcome;
  if ('failure' in o)
    body.push(
      `      <failure message="${attr(firstLine(o.failure))}" type="${attr(o.type)}">${text(o.failure)}</failure>`,
    );
  else if ('error' in o)
    body.push(
      `      <error message="${attr(firstLine(o.error))}" type="input">${text(o.error)}</error>`,
    );
  else if ('skipped' in o) body.push(`      <skipped message="${attr(o.skipped)}"/>`);
  if (tc.out !== undefined) body.push(`      <system-out>${text(tc.out)}</system-out>`);
  return body.length === 0 ? [`${open}/>`] : [`${open}>`, ...body, '    </testcase>'];
}

function counts(cases: readonly Case[]) {
  return {
    failures: cases.filter((c) => 'failure' in c.outcome).length,
    errors: cases.filter((c) => 'error' in c.outcome).length,
    skipped: cases.filter((c) => 'skipped' in c.outcome).length,
  };
}

function fileOf(source: string): string {
  const colon = source.lastIndexOf(':');
  return colon === -1 ? source : source.slice(0, colon);
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/** Characters XML 1.0 cannot hold at all (controls other than tab, newline, return). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

function text(s: string): string {
  return s
    .replace(INVALID_XML, '\uFFFD')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;');
}

/** An attribute value; newlines and tabs are kept as character references, not normalized away. */
function attr(s: string): string {
  return text(s)
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;')
    .replaceAll('\n', '&#10;')
    .replaceAll('\r', '&#13;')
    .replaceAll('\t', '&#9;');
}
