import type { ReviewResult } from './review.js';

/** Human-readable report of `meshwarden review`. */
export function formatReviewText(results: readonly ReviewResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const id = `${r.kind} ${r.namespace === null ? '' : `${r.namespace}/`}${r.name}`;
    lines.push(`${r.allowed ? 'ALLOWED' : 'DENIED '} ${id} (${r.operation})  ${r.source}`);
    for (const op of r.patch) {
      const value = 'value' in op ? ` ${JSON.stringify(op.value)}` : '';
      lines.push(
        `  patch: ${op.op} ${op.path}${value.length > 100 ? `${value.slice(0, 97)}...` : value}`,
      );
    }
    for (const w of r.warnings) lines.push(`  warning: ${w}`);
    if (r.message !== null) for (const m of r.message.split('\n')) lines.push(`  ${m}`);
  }
  const denied = results.filter((r) => !r.allowed).length;
  lines.push(
    `${results.length} object${results.length === 1 ? '' : 's'} reviewed: ${results.length - denied} allowed, ${denied} denied`,
  );
  return lines.join('\n');
}
