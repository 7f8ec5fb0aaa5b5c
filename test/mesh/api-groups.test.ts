import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectionApiGroups } from '../../src/mesh/adapter.js';
import { meshHomes } from '../../src/mesh/registry.js';
import { TRAFFIC_SPLIT_GROUP } from '../../src/traffic/smi/api.js';

const SRC = join(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every mesh API group, with the folder (relative to src/) that alone may spell it. */
function groupHomes(): Map<string, string> {
  const homes = new Map<string, string>();
  const claim = (group: string, folder: string) => {
    const before = homes.get(group);
    if (before !== undefined && before !== folder)
      throw new Error(`API group ${group} claimed by ${before} and ${folder}`);
    homes.set(group, folder);
  };
  for (const home of meshHomes()) {
    const { routing } = home;
    const routed = [...routing.routeKinds.map((k) => k.group), routing.writer.produces.group];
    for (const group of routed)
      claim(group, group === TRAFFIC_SPLIT_GROUP ? 'traffic/smi' : `mesh/${routing.home}`);
    for (const group of detectionApiGroups(home.adapter.detection)) claim(group, `mesh/${home.id}`);
    for (const kind of home.routeKinds ?? []) claim(kind.group, `mesh/${home.id}`);
  }
  claim(TRAFFIC_SPLIT_GROUP, 'traffic/smi');
  return homes;
}

/** `group` as a whole name: not inside a longer host (`policy.linkerd.io` for `linkerd.io`). */
function spells(text: string, group: string): boolean {
  const escaped = group.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\w.-])${escaped}(?![\\w-]|\\.\\w)`).test(text);
}

describe('mesh API groups', () => {
  const homes = groupHomes();

  it('come from the registry, for every mesh that routes or is detected by a group', () => {
    expect([...homes.keys()]).toEqual(
      expect.arrayContaining([
        'networking.istio.io',
        'gateway.networking.k8s.io',
        'consul.hashicorp.com',
        'appmesh.k8s.aws',
        'gateway.solo.io',
        'kuma.io',
        'config.openservicemesh.io',
        TRAFFIC_SPLIT_GROUP,
      ]),
    );
    expect(homes.get('gateway.networking.k8s.io')).toBe('mesh/gateway-api');
  });

  it('are spelled only in their own home', () => {
    const outside: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const folder = relative(SRC, file).split(sep).slice(0, -1).join('/');
      const text = readFileSync(file, 'utf8');
      for (const [group, home] of homes)
        if (folder !== home && spells(text, group))
          outside.push(`${relative(SRC, file)} spells ${group} (home: src/${home})`);
    }
    expect(outside).toEqual([]);
  });

  it('finds a group spelled in code, and not a longer name that contains it', () => {
    expect(spells("group: 'networking.istio.io',", 'networking.istio.io')).toBe(true);
    expect(spells('`networking.istio.io/v1` VirtualService', 'networking.istio.io')).toBe(true);
    expect(spells("'policy.linkerd.io'", 'linkerd.io')).toBe(false);
    expect(spells("'service.istio.io/canonical-name'", 'istio.io')).toBe(false);
    expect(spells("'kuma.io.example'", 'kuma.io')).toBe(false);
  });
});
