import type { ReviewDecision, ReviewResult } from './review.js';

const LABELS: Record<ReviewDecision, string> = {
  allowed: 'ALLOWED',
  denied: 'DENIED ',
  skipped: 'SKIPPED',
  audit: 'AUDIT  ',
};

/** Human-readable report of `meshwarden review`. */
export function formatReviewText(results: readonly ReviewResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const id = `${r.kind} ${r.namespace === null ? '' : `${r.namespace}/`}${r.name}`;
    lines.push(`${LABELS[r.result]} ${id} (${r.operation})  ${r.source}`);
    if (r.result === 'skipped' && r.reason !== null) lines.push(`  skipped: ${r.reason}`);
    for (const op of r.patch) {
      const value = 'value' in op ? ` ${JSON.stringify(op.value)}` : '';
      lines.push(
        `  patch: ${op.op} ${op.path}${value.length > 100 ? `${value.slice(0, 97)}...` : value}`,
      );
    }
    for (const w of r.warnings) lines.push(`  warning: ${w}`);
    if (r.result === 'audit')
      for (const [rule, text] of Object.entries(r.audit))
        lines.push(`  audit: ${rule}: ${text.replaceAll('\n', '\n    ')}`);
    for (const p of r.passed) lines.push(`  passed: ${p.reason} (${p.rule})`);
    if (r.message !== null) for (const m of r.message.split('\n')) lines.push(`  ${m}`);
  }
  const count = (d: ReviewDecision) => results.filter((r) => r.result === d).length;
  const denied = results.filter((r) => !r.allowed).length;
  if (count('skipped') + count('audit') > 0)
    lines.push(
      `checked ${count('allowed') + count('denied')}, audit only ${count('audit')}, skipped ${count('skipped')} (no rule looks at them)`,
    );
  lines.push(
    `${results.length} object${results.length === 1 ? '' : 's'} reviewed: ${results.length - denied} allowed, ${denied} denied`,
  );
  return lines.join('\n');
}
