import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MESH_SIGNATURES } from '../../src/controller/mesh-detection.js';
import { MESH_IDS } from '../../src/mesh/ids.js';
import {
  MESH_ROUTINGS,
  meshHomes,
  ROUTE_KINDS,
  WRITERS,
  WRITTEN_KIND_VERSIONS,
  WRITTEN_KINDS,
} from '../../src/mesh/registry.js';
import { TRAFFIC_SPLIT_ROUTE_KIND } from '../../src/traffic/smi/read.js';
import { KNATIVE_ROUTE_KINDS } from '../../src/traffic/knative/index.js';

const SRC = join(import.meta.dirname, '../../src');
const MESH = join(SRC, 'mesh');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('mesh registry: adding a mesh is one folder and one registry line', () => {
  it('lists every mesh folder, and every listed mesh has its folder', () => {
    const folders = readdirSync(MESH, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(folders).toEqual([...MESH_IDS].sort());
    for (const id of MESH_IDS) {
      expect(existsSync(join(MESH, id, 'adapter.ts')), `${id}/adapter.ts`).toBe(true);
      expect(existsSync(join(MESH, id, 'index.ts')), `${id}/index.ts`).toBe(true);
    }
  });

  it('has a complete home for every id', () => {
    expect(meshHomes().map((h) => h.id)).toEqual([...MESH_IDS]);
    for (const home of meshHomes()) {
      expect(home.adapter.id, home.id).toBe(home.id);
      expect(MESH_IDS, home.id).toContain(home.routing.home);
      expect(home.routing.writer.produces.kind, home.id).not.toBe('');
      for (const kind of home.routing.routeKinds) {
        expect(kind.versions.length, kind.id).toBeGreaterThan(0);
        expect(typeof kind.read, kind.id).toBe('function');
      }
    }
  });

  it('derives the route-kind, writer and detection tables from the homes', () => {
    expect(ROUTE_KINDS[0]).toBe(TRAFFIC_SPLIT_ROUTE_KIND);
    expect(ROUTE_KINDS.slice(1)).toEqual([
      ...MESH_ROUTINGS.flatMap((r) => r.routeKinds),
      // A home's own kinds beyond its shared routing (Linkerd's HTTPRoute), then Knative's.
      ...meshHomes().flatMap((h) => h.routeKinds ?? []),
      ...KNATIVE_ROUTE_KINDS,
    ]);
    expect(new Set(ROUTE_KINDS.map((k) => k.id)).size).toBe(ROUTE_KINDS.length);
    for (const home of meshHomes()) expect(WRITERS[home.id]).toBe(home.routing.writer);
    for (const routing of MESH_ROUTINGS) expect(WRITTEN_KINDS).toContain(routing.writer.produces);
    // Each written kind once, with every version a writer can write (the reconciler watches the
    // first one served, so a route written in v1beta1 is still pruned after a restart).
    const versions = (kind: string) =>
      WRITTEN_KIND_VERSIONS.filter((k) => k.kind === kind).map((k) => [k.group, k.versions]);
    expect(versions('HTTPRoute')).toEqual([['gateway.networking.k8s.io', ['v1', 'v1beta1']]]);
    expect(versions('VirtualRouter')).toEqual([['appmesh.k8s.aws', ['v1beta2']]]);
    for (const k of WRITTEN_KINDS)
      expect(
        WRITTEN_KIND_VERSIONS.find((w) => w.group === k.group && w.kind === k.kind)?.versions,
      ).toContain(k.version);
    expect(MESH_SIGNATURES.map((s) => s.mesh)).toEqual([...MESH_IDS]);
    // Linkerd and Kuma route with the Gateway API home.
    const routing = (id: string) => meshHomes().find((h) => h.id === id)?.routing;
    expect(routing('linkerd')).toBe(routing('gateway-api'));
    expect(routing('kuma')).toBe(routing('gateway-api'));
  });

  it('is the only table of mesh ids: no other source file lists several of them', () => {
    const lists: string[] = [];
    for (const file of sourceFiles(SRC)) {
      if (file.startsWith(MESH + '/')) continue;
      const text = readFileSync(file, 'utf8');
      const named = MESH_IDS.filter((id) =>
        new RegExp(`['"\`]${id}['"\`]|\\b${id}[,:]\\s`).test(text),
      );
      if (named.length >= 3) lists.push(`${relative(SRC, file)}: ${named.join(', ')}`);
    }
    expect(lists).toEqual([]);
  });
});
