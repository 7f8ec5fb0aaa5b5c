import type { JsonPatch } from '../admission/patch.js';
import { kindNamer } from './kind-names.js';
import type { ReviewReport } from './report.js';
import type { ReviewDecision, ReviewResult } from './review.js';

const LABELS: Record<ReviewDecision, string> = {
  allowed: 'ALLOWED',
  denied: 'DENIED ',
  skipped: 'SKIPPED',
  audit: 'AUDIT  ',
};

/** Human-readable report of `meshwarden review`; input errors go to stderr, not here. */
export function formatReviewText(
  results: readonly ReviewResult[],
  input: Omit<ReviewReport, 'results'> = { errors: [], skipped: [] },
): string {
  const lines: string[] = [];
  const kindName = kindNamer(results);
  for (const r of results) {
    const id = `${kindName(r)} ${r.namespace === null ? '' : `${r.namespace}/`}${r.name}`;
    lines.push(`${LABELS[r.result]} ${id} (${r.operation})  ${r.source}`);
    if (r.result === 'skipped' && r.reason !== null) lines.push(`  skipped: ${r.reason}`);
    // A denied object is not stored: its patch is what /mutate would have sent, no more.
    if (r.result !== 'denied') for (const op of r.patch) lines.push(`  patch: ${describeOp(op)}`);
    for (const w of r.warnings) lines.push(`  warning: ${w}`);
    if (r.result === 'audit')
      for (const [rule, text] of Object.entries(r.audit))
        lines.push(`  audit: ${rule}: ${text.replaceAll('\n', '\n    ')}`);
    for (const p of r.passed) lines.push(`  passed: ${p.reason} (${p.rule})`);
    if (r.message !== null) for (const m of r.message.split('\n')) lines.push(`  ${m}`);
    if (r.result === 'denied' && r.patch.length > 0)
      lines.push(`  (would also be patched: ${r.patch.map(patchTarget).join('; ')})`);
  }
  for (const s of input.skipped) lines.push(`SKIPPED ${s.file}:${s.line}  ${s.reason}`);
  const count = (d: ReviewDecision) => results.filter((r) => r.result === d).length;
  const denied = results.filter((r) => !r.allowed).length;
  if (count('skipped') + count('audit') > 0)
    lines.push(
      `checked ${count('allowed') + count('denied')}, audit only ${count('audit')}, skipped ${count('skipped')} (no rule looks at them)`,
    );
  if (input.skipped.length > 0)
    lines.push(
      `${plural(input.skipped.length, 'document')} skipped: not ${input.skipped.length === 1 ? 'a Kubernetes manifest' : 'Kubernetes manifests'} (--strict makes ${input.skipped.length === 1 ? 'it an error' : 'them errors'})`,
    );
  if (input.errors.length > 0)
    lines.push(`${plural(input.errors.length, 'input error')}, listed on stderr`);
  lines.push(
    `${plural(results.length, 'object')} reviewed: ${results.length - denied} allowed, ${denied} denied`,
  );
  return lines.join('\n');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function describeOp(op: JsonPatch[number]): string {
  const value = 'value' in op ? ` ${JSON.stringify(op.value)}` : '';
  return `${op.op} ${op.path}${value.length > 100 ? `${value.slice(0, 97)}...` : value}`;
}

/** What one operation changes, briefly: the keys of a map it adds, else its path. */
function patchTarget(op: JsonPatch[number]): string {
  const value: unknown = 'value' in op ? op.value : undefined;
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    return `${op.op} ${op.path}: ${Object.keys(value).join(', ')}`;
  return `${op.op} ${op.path}`;
}
