/**
 * Gloo accepts a delegated RouteTable route only when each matcher's path begins with the
 * delegating VirtualService route's prefix, a regex included (solo-io/gloo
 * projects/gateway/pkg/translator/converter.go `isRouteTableValidForDelegateMatcher`, which
 * compares `PathAsString`, the regex text itself); otherwise the route is dropped with only a
 * warning and its traffic stays with the VirtualService's other routes. Routes without a path of
 * their own set `inheritablePathMatchers` (as Flagger's Gloo router does,
 * fluxcd/flagger pkg/router/gloo.go) and take the delegating prefix, whatever it is. Routes with
 * an SMI path expression keep their own, written to begin with `/`: they need a VirtualService
 * that delegates the prefix `/`.
 */
export const DELEGATING_PREFIX = '/';

/**
 * The SMI path expression (anchored at the start only) as a whole-path regex that begins with
 * `/`: `/api` becomes `/(?:api).*`, `/a|/b` becomes `/(?:a|b).*`. Undefined when some
 * alternative does not begin with a literal `/` (such an expression cannot be written so).
 */
export function delegatableRegex(smiRegex: string): string | undefined {
  const alternatives = topLevelAlternatives(smiRegex);
  if (!alternatives) return undefined;
  const rests: string[] = [];
  for (const alt of alternatives) {
    if (!alt.startsWith(DELEGATING_PREFIX)) return undefined;
    // `/*`, `/+`, `/?`, `/{2}`: the slash is quantified, not a literal start.
    if (/^[*+?{]/.test(alt.slice(1))) return undefined;
    rests.push(alt.slice(1));
  }
  return `${DELEGATING_PREFIX}(?:${rests.join('|')}).*`;
}

/** Splits at `|` outside groups and classes; undefined when brackets do not balance. */
function topLevelAlternatives(regex: string): string[] | undefined {
  const out: string[] = [];
  let depth = 0;
  let inClass = false;
  let start = 0;
  for (let i = 0; i < regex.length; i++) {
    const c = regex[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      out.push(regex.slice(start, i));
      start = i + 1;
    }
    if (depth < 0) return undefined;
  }
  if (depth !== 0 || inClass) return undefined;
  out.push(regex.slice(start));
  return out;
}
