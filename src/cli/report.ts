import type { InputError, SkippedDocument } from './manifests.js';
import type { ReviewResult } from './review.js';

/** Everything one `meshwarden review` found: the objects' results and the input's problems. */
export interface ReviewReport {
  readonly results: readonly ReviewResult[];
  /** Input that could not be read or parsed (exit 2). */
  readonly errors: readonly InputError[];
  /** Documents that are no Kubernetes objects, skipped. */
  readonly skipped: readonly SkippedDocument[];
}

export function sourceOf(e: { readonly file: string; readonly line?: number }): string {
  return e.line === undefined ? e.file : `${e.file}:${e.line}`;
}

/** The entries of `-o json`: each result, then each skipped document and each input error. */
export function jsonEntries(report: ReviewReport): unknown[] {
  const blank = {
    kind: null,
    apiVersion: null,
    namespace: null,
    name: null,
    operation: null,
    warnings: [],
    patch: [],
    audit: {},
    passed: [],
    violations: [],
  };
  return [
    ...report.results,
    ...report.skipped.map((s) => ({
      ...blank,
      allowed: true,
      message: null,
      result: 'skipped',
      reason: s.reason,
      source: sourceOf(s),
    })),
    ...report.errors.map((e) => ({
      ...blank,
      allowed: false,
      message: e.message,
      result: 'error',
      reason: e.message,
      source: sourceOf(e),
    })),
  ];
}
