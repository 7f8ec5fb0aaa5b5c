import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** Importing file → imported files, as paths relative to the source root (`admission/engine.ts`). */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

export interface Violation {
  readonly rule: 'unplaced-folder' | 'upward-import' | 'same-floor-import' | 'cycle' | 'unresolved';
  readonly message: string;
}

/** Every `.ts` file under `root`, relative to it, with `/` separators. */
export function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts'))
        out.push(relative(root, path).split(sep).join('/'));
    }
  };
  walk(root);
  return out;
}

/**
 * The relative imports of every file under `root`: `import`, `import type`, `export ... from`
 * and `import()` alike (the TypeScript pre-processor reads them all). Packages and `node:` are
 * not part of the graph. A relative import that names no file maps to `?<specifier>`.
 */
export function readImportGraph(root: string): ImportGraph {
  const files = new Set(sourceFiles(root));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const { importedFiles } = ts.preProcessFile(text, true, true);
    const targets: string[] = [];
    for (const { fileName: specifier } of importedFiles) {
      if (!specifier.startsWith('.')) continue;
      const base = relative(root, resolve(root, dirname(file), specifier))
        .split(sep)
        .join('/');
      const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, `${base}/index.ts`];
      targets.push(candidates.find((c) => files.has(c)) ?? `?${specifier}`);
    }
    graph.set(file, targets);
  }
  return graph;
}

/** The top-level folder of a source file; files directly under the root have none. */
export function folderOf(file: string): string | undefined {
  const slash = file.indexOf('/');
  return slash < 0 ? undefined : file.slice(0, slash);
}

/** Every break of the layout in `graph`: unplaced folders, imports that are not downward, cycles. */
export function checkImportGraph(
  graph: ImportGraph,
  floors: ReadonlyMap<string, number>,
): Violation[] {
  const violations: Violation[] = [];
  const unplaced = new Set<string>();
  for (const file of graph.keys()) {
    const folder = folderOf(file);
    if (folder === undefined || !floors.has(folder)) unplaced.add(folder ?? file);
  }
  for (const folder of [...unplaced].sort())
    violations.push({
      rule: 'unplaced-folder',
      message: `src/${folder} has no floor: add it to LAYOUT in test/architecture/layout.ts`,
    });

  for (const [file, targets] of graph) {
    const from = folderOf(file);
    const fromFloor = from === undefined ? undefined : floors.get(from);
    for (const target of targets) {
      if (target.startsWith('?')) {
        violations.push({
          rule: 'unresolved',
          message: `src/${file} imports ${target.slice(1)}, which is no file`,
        });
        continue;
      }
      const to = folderOf(target);
      const toFloor = to === undefined ? undefined : floors.get(to);
      if (from === to || fromFloor === undefined || toFloor === undefined) continue;
      if (toFloor > fromFloor)
        violations.push({
          rule: 'upward-import',
          message: `src/${file} (${from}, floor ${fromFloor}) imports src/${target} (${to}, floor ${toFloor})`,
        });
      else if (toFloor === fromFloor)
        violations.push({
          rule: 'same-floor-import',
          message: `src/${file} (${from}) imports src/${target} (${to}): both on floor ${fromFloor}`,
        });
    }
  }

  for (const cycle of importCycles(graph))
    violations.push({
      rule: 'cycle',
      message: `import cycle: ${[...cycle, cycle[0]].map((f) => `src/${f}`).join(' -> ')}`,
    });
  return violations;
}

/**
 * The import cycles of `graph`: one per strongly connected component of more than one file (or
 * a file importing itself), given as a path through it (Tarjan's algorithm, iterative).
 */
export function importCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  const edges = (file: string) => (graph.get(file) ?? []).filter((t) => graph.has(t));

  for (const root of graph.keys()) {
    if (index.has(root)) continue;
    const work: { file: string; edge: number }[] = [{ file: root, edge: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { file: string; edge: number };
      const out = edges(frame.file);
      if (frame.edge < out.length) {
        const target = out[frame.edge++] as string;
        if (!index.has(target)) {
          index.set(target, next);
          low.set(target, next++);
          stack.push(target);
          onStack.add(target);
          work.push({ file: target, edge: 0 });
        } else if (onStack.has(target))
          low.set(frame.file, Math.min(low.get(frame.file) ?? 0, index.get(target) ?? 0));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent)
        low.set(parent.file, Math.min(low.get(parent.file) ?? 0, low.get(frame.file) ?? 0));
      if (low.get(frame.file) !== index.get(frame.file)) continue;
      const component: string[] = [];
      for (;;) {
        const member = stack.pop() as string;
        onStack.delete(member);
        component.push(member);
        if (member === frame.file) break;
      }
      const selfImport = component.length === 1 && edges(frame.file).includes(frame.file);
      if (component.length > 1 || selfImport) components.push(component);
    }
  }
  return components.map((component) => pathThrough(graph, new Set(component)));
}

/** A cycle inside one component, found by walking from its first file (sorted) until a repeat. */
function pathThrough(graph: ImportGraph, component: ReadonlySet<string>): string[] {
  const start = [...component].sort()[0] as string;
  const path = [start];
  const seen = new Map([[start, 0]]);
  let at = start;
  for (;;) {
    const nextFile = (graph.get(at) ?? []).find((t) => component.has(t)) as string;
    const repeat = seen.get(nextFile);
    if (repeat !== undefined) return path.slice(repeat);
    seen.set(nextFile, path.length);
    path.push(nextFile);
    at = nextFile;
  }
}
