import type { HttpMatch } from '../../traffic/model.js';
import { wholePathRegex } from '../../traffic/write-common.js';

/** The catch-all of a layout with regular expressions: the shortest, so it ranks last. */
const REGEX_CATCH_ALL = '/.*';

/**
 * Rules for an SMI split with matches: the matched rule first, then a catch-all to the root.
 * Implementations rank rules by path before rule order, and not all the same way:
 *
 * - Istio (pilot/pkg/config/kube/gateway/conversion.go `sortHTTPRoutes`, `getURIRank`) and Kuma
 *   (pkg/plugins/policies/meshhttproute/api/v1alpha1/compare.go `comparePath`) put Exact before
 *   PathPrefix before RegularExpression, then the longer value, then method, then header count;
 *   equal matches keep rule order (stable sorts).
 * - Linkerd (linkerd2-proxy linkerd/http/route/src/http/match/path.rs, match.rs) ranks by the
 *   number of path characters matched whatever the type (a regex matches the whole path, `/`
 *   one character), then headers, query parameters, method; the first of equal rules wins.
 *
 * A rule without `matches` is defaulted by the API server to `PathPrefix /`, which outranks
 * every regular expression under Istio and Kuma. So when any SMI match has a path expression,
 * every matched path is written as a RegularExpression (a header-only match as `/.*`), and the
 * catch-all as the regex `/.*`: no matched path is shorter, a match of equal path has as many or
 * more headers and methods, and on a full tie the matched rule comes first. The matched rule
 * wins on all three. Without path expressions the default catch-all already ranks last.
 */
export function rankSafeLayout(matches: readonly HttpMatch[]): {
  readonly path: (match: HttpMatch) => Record<string, unknown>;
  /** The catch-all rule's match; undefined: no `matches` (the `PathPrefix /` default). */
  readonly fallback: Record<string, unknown> | undefined;
} {
  if (!matches.some((m) => m.pathRegex !== undefined)) {
    return { path: () => ({ type: 'PathPrefix', value: '/' }), fallback: undefined };
  }
  return {
    path: (m) => ({ type: 'RegularExpression', value: matchedRegex(m) }),
    fallback: { path: { type: 'RegularExpression', value: REGEX_CATCH_ALL } },
  };
}

/** The match's path as a whole-path regex never shorter than the catch-all's. */
export function matchedRegex(match: HttpMatch): string {
  if (match.pathRegex === undefined) return REGEX_CATCH_ALL;
  const regex = wholePathRegex(match.pathRegex);
  return regex.length < REGEX_CATCH_ALL.length ? `(?:${regex})` : regex;
}
