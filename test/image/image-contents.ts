import { lstatSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Every package directory under `node_modules`, as package-lock.json keys them. */
export function installedPackages(app: string): string[] {
  const found: string[] = [];
  const visit = (modules: string) => {
    let entries: string[];
    try {
      entries = readdirSync(join(app, modules));
    } catch {
      return;
    }
    for (const entry of entries.sort()) {
      if (entry.startsWith('.')) continue;
      const names = entry.startsWith('@')
        ? readdirSync(join(app, modules, entry)).map((n) => `${entry}/${n}`)
        : [entry];
      for (const name of names) {
        const key = `${modules}/${name}`;
        found.push(key);
        visit(`${key}/node_modules`);
      }
    }
  };
  visit('node_modules');
  return found;
}

interface LockEntry {
  readonly dev?: boolean;
  readonly optional?: boolean;
  readonly devOptional?: boolean;
}

/** package-lock.json's packages split by what `npm ci --omit=dev` must and must not install. */
export function lockPackages(lock: { packages: Record<string, LockEntry> }) {
  const entries = Object.entries(lock.packages).filter(([key]) => key !== '');
  return {
    dev: entries.filter(([, p]) => p.dev === true).map(([k]) => k),
    required: entries.filter(([, p]) => !p.dev && !p.optional && !p.devOptional).map(([k]) => k),
    production: entries.filter(([, p]) => !p.dev).map(([k]) => k),
  };
}

export interface Tree {
  /** Paths of the files, relative to the root, sorted. */
  readonly files: string[];
  readonly bytes: number;
}

/** Files under `dir` (symbolic links count as files, never followed). */
export function walk(root: string, dir = root): Tree {
  const files: string[] = [];
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = walk(root, path);
      files.push(...sub.files);
      bytes += sub.bytes;
    } else {
      files.push(relative(root, path));
      bytes += lstatSync(path).size;
    }
  }
  return { files: files.sort(), bytes };
}

export const TEST_FILE = /(^|\/)(test|tests|__tests__)\/|\.(test|spec)\.[cm]?[jt]s$/;
