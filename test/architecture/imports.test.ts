import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  checkImportGraph,
  importCycles,
  readImportGraph,
  type ImportGraph,
} from './import-graph.js';
import { floorsByFolder, LAYOUT } from './layout.js';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

const floors = floorsByFolder();
const graph = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

describe('the layout of src/', () => {
  const real = readImportGraph(SRC);

  it('reads the imports of every source file', () => {
    // A sanity check of the reader itself: these edges exist today.
    expect(real.size).toBeGreaterThan(100);
    expect(real.get('cli/main.ts')).toContain('cli/program.ts');
    expect(real.get('app/serve.ts')).toContain('controller/runtime.ts');
  });

  it('places every folder, imports only downward, and has no import cycle', () => {
    const found = checkImportGraph(real, floors).map((v) => v.message);
    expect(found).toEqual([]);
  });

  it('lists every floor once, in order', () => {
    expect(LAYOUT.map((l) => l.floor)).toEqual(LAYOUT.map((_, i) => i));
  });
});

describe('checkImportGraph', () => {
  const rules = (edges: Record<string, string[]>) =>
    checkImportGraph(graph(edges), floors).map((v) => v.rule);

  it('accepts imports within a folder and down the floors', () => {
    expect(
      rules({
        'cli/main.ts': ['cli/program.ts', 'app/serve.ts'],
        'cli/program.ts': [],
        'app/serve.ts': ['server/app.ts', 'controller/runtime.ts', 'policy/store.ts'],
        'server/app.ts': ['admission/engine.ts'],
        'controller/runtime.ts': ['controller/certificates/manager.ts'],
        'controller/certificates/manager.ts': ['pki/issue.ts'],
        'admission/engine.ts': ['mesh/istio/adapter.ts', 'util/json.ts'],
        'mesh/istio/adapter.ts': ['traffic/smi/read.ts'],
        'traffic/smi/read.ts': ['k8s/objects.ts'],
        'policy/store.ts': [],
        'pki/issue.ts': [],
        'util/json.ts': [],
        'k8s/objects.ts': [],
      }),
    ).toEqual([]);
  });

  it('reports server importing controller, and controller importing server', () => {
    const found = checkImportGraph(
      graph({
        'server/serve.ts': ['controller/runtime.ts'],
        'controller/runtime.ts': ['server/metrics.ts'],
        'server/metrics.ts': [],
      }),
      floors,
    );
    expect(found.filter((v) => v.rule === 'same-floor-import').map((v) => v.message)).toEqual([
      'src/server/serve.ts (server) imports src/controller/runtime.ts (controller): both on floor 7',
      'src/controller/runtime.ts (controller) imports src/server/metrics.ts (server): both on floor 7',
    ]);
  });

  it('reports a lower floor importing a higher one', () => {
    const found = checkImportGraph(
      graph({ 'traffic/model.ts': ['mesh/registry.ts'], 'mesh/registry.ts': [] }),
      floors,
    );
    expect(found).toEqual([
      {
        rule: 'upward-import',
        message:
          'src/traffic/model.ts (traffic, floor 2) imports src/mesh/registry.ts (mesh, floor 3)',
      },
    ]);
  });

  it('reports a folder the layout does not place, and a file directly under src/', () => {
    expect(
      checkImportGraph(graph({ 'plugins/x.ts': [], 'index.ts': [] }), floors).map((v) => v.message),
    ).toEqual([
      'src/index.ts has no floor: add it to LAYOUT in test/architecture/layout.ts',
      'src/plugins has no floor: add it to LAYOUT in test/architecture/layout.ts',
    ]);
  });

  it('reports an import cycle inside one folder, with its path', () => {
    const found = checkImportGraph(
      graph({
        'cli/program.ts': ['cli/serve-command.ts'],
        'cli/serve-command.ts': ['cli/errors.ts', 'cli/program.ts'],
        'cli/errors.ts': [],
      }),
      floors,
    );
    expect(found).toEqual([
      {
        rule: 'cycle',
        message:
          'import cycle: src/cli/program.ts -> src/cli/serve-command.ts -> src/cli/program.ts',
      },
    ]);
  });

  it('reports an import naming no file', () => {
    expect(rules({ 'cli/main.ts': ['?./missing.js'] })).toEqual(['unresolved']);
  });
});

describe('readImportGraph', () => {
  it('reads static, type-only, re-export and dynamic imports, and flags a missing file', () => {
    const root = mkdtempSync(join(tmpdir(), 'meshwarden-imports-'));
    try {
      const write = (file: string, text: string) => {
        mkdirSync(dirname(join(root, file)), { recursive: true });
        writeFileSync(join(root, file), text);
      };
      write('k8s/objects.ts', 'export type KubeObject = object;\n');
      write('util/json.ts', 'export const j = 1;\n');
      write('mesh/istio/index.ts', 'export const m = 1;\n');
      write(
        'app/serve.ts',
        [
          "import type { KubeObject } from '../k8s/objects.js';",
          "export { j } from '../util/json.js';",
          "import { readFile } from 'node:fs/promises';",
          "const later = () => import('../mesh/istio');",
          "import { gone } from './gone.js';",
        ].join('\n'),
      );
      expect(readImportGraph(root).get('app/serve.ts')).toEqual([
        'k8s/objects.ts',
        'util/json.ts',
        'mesh/istio/index.ts',
        '?./gone.js',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('importCycles', () => {
  it('finds every cycle once, self-imports included, and nothing in a tree', () => {
    expect(
      importCycles(graph({ 'a/1.ts': ['a/2.ts'], 'a/2.ts': [], 'a/3.ts': ['a/2.ts'] })),
    ).toEqual([]);
    const cycles = importCycles(
      graph({
        'a/1.ts': ['a/2.ts'],
        'a/2.ts': ['a/3.ts'],
        'a/3.ts': ['a/1.ts', 'a/4.ts'],
        'a/4.ts': ['a/4.ts'],
        'b/1.ts': ['b/2.ts'],
        'b/2.ts': ['b/1.ts'],
      }),
    );
    expect(cycles.map((c) => c.join(' '))).toEqual([
      'a/4.ts',
      'a/1.ts a/2.ts a/3.ts',
      'b/1.ts b/2.ts',
    ]);
  });
});
