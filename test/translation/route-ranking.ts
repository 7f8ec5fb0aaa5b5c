/* eslint-disable @typescript-eslint/no-explicit-any -- HTTPRoute rules are read untyped */
/**
 * Which HTTPRoute rule a mesh request lands on, under each implementation's ranking, re-stated
 * from the peers' sources to check what meshwarden writes (not a copy of their code):
 *
 * - Istio: pilot/pkg/config/kube/gateway/conversion.go `sortHTTPRoutes`: one route per match;
 *   Exact (3) > Prefix (2) > Regex (1), then the longer value, then a method, then more
 *   headers; stable, so rule order breaks ties; the first route in that order that matches.
 * - Kuma: pkg/plugins/policies/meshhttproute/api/v1alpha1/compare.go `CompareMatch` and
 *   plugin/v1alpha1/listeners.go (`slices.SortStableFunc`): the same type order, longer value,
 *   method, more headers.
 * - Linkerd: linkerd2-proxy linkerd/http/route/src/http/match.rs and match/path.rs, lib.rs
 *   `best`: every matching rule's best match summary (path characters matched, headers, query
 *   parameters, method), the largest wins, the first of equals.
 *
 * A rule without matches gets the API server's default, `PathPrefix /` (the CRD's default).
 */
export interface Request {
  readonly path: string;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

type Match = { path: { type: string; value: string }; headers: any[]; method?: string };

function matchesOf(rule: any): Match[] {
  const list: any[] = rule.matches ?? [{ path: { type: 'PathPrefix', value: '/' } }];
  return list.map((m) => ({
    path: m.path ?? { type: 'PathPrefix', value: '/' },
    headers: m.headers ?? [],
    ...(m.method ? { method: m.method } : {}),
  }));
}

function pathMatches(path: { type: string; value: string }, request: string): boolean {
  if (path.type === 'Exact') return request === path.value;
  if (path.type === 'PathPrefix') {
    if (path.value === '/') return true;
    const prefix = path.value.replace(/\/$/, '');
    return request === prefix || request.startsWith(`${prefix}/`);
  }
  return new RegExp(`^(?:${path.value})$`).test(request);
}

function matches(m: Match, r: Request): boolean {
  if (m.method && m.method !== (r.method ?? 'GET')) return false;
  if (!pathMatches(m.path, r.path)) return false;
  return m.headers.every((h: any) => {
    const value = r.headers?.[String(h.name).toLowerCase()];
    if (value === undefined) return false;
    return h.type === 'RegularExpression'
      ? new RegExp(`^(?:${h.value})$`).test(value)
      : value === h.value;
  });
}

const TYPE_RANK: Record<string, number> = { Exact: 3, PathPrefix: 2, RegularExpression: 1 };

/** Istio and Kuma: sort every (rule, match) pair, stable; the first that matches. */
function sortedWinner(rules: any[], r: Request): number | undefined {
  const entries = rules.flatMap((rule, index) => matchesOf(rule).map((m) => ({ index, m })));
  const sorted = entries
    .map((e, order) => ({ ...e, order }))
    .sort((a, b) => {
      const ra = TYPE_RANK[a.m.path.type] ?? 0;
      const rb = TYPE_RANK[b.m.path.type] ?? 0;
      if (ra !== rb) return rb - ra;
      if (a.m.path.value.length !== b.m.path.value.length)
        return b.m.path.value.length - a.m.path.value.length;
      if (!!a.m.method !== !!b.m.method) return a.m.method ? -1 : 1;
      if (a.m.headers.length !== b.m.headers.length) return b.m.headers.length - a.m.headers.length;
      return a.order - b.order;
    });
  return sorted.find((e) => matches(e.m, r))?.index;
}

/** Linkerd: the rule whose best matching summary is largest; the first of equals. */
function linkerdWinner(rules: any[], r: Request): number | undefined {
  let best: { index: number; key: number[] } | undefined;
  rules.forEach((rule, index) => {
    const keys = matchesOf(rule)
      .filter((m) => matches(m, r))
      .map((m) => {
        const len =
          m.path.type === 'RegularExpression' || m.path.type === 'Exact'
            ? r.path.length
            : m.path.value === '/'
              ? 1
              : m.path.value.replace(/\/$/, '').length;
        return [len, m.headers.length, 0, m.method ? 1 : 0];
      });
    if (keys.length === 0) return;
    const key = keys.reduce((a, b) => (compareKeys(a, b) >= 0 ? a : b));
    if (!best || compareKeys(key, best.key) > 0) best = { index, key };
  });
  return best?.index;
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++)
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

export const RANKINGS = {
  istio: sortedWinner,
  kuma: sortedWinner,
  linkerd: linkerdWinner,
} as const;
