import { execFile } from 'node:child_process';
import { mkdir, readdir, rmdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const repoRoot = resolve(import.meta.dirname, '../..');

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(
      newest,
      entry.isDirectory() ? await newestMtime(path) : (await stat(path)).mtimeMs,
    );
  }
  return newest;
}

async function stale(main: string): Promise<boolean> {
  const built = await stat(main).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  return built < (await newestMtime(join(repoRoot, 'src')));
}

/**
 * The path of the built CLI (`dist/src/cli/main.js`), compiling first when `src` is newer, so
 * tests that start the real process run the code under test. A lock folder keeps test files
 * running in parallel from compiling at the same time.
 */
export async function ensureBuilt(): Promise<string> {
  const main = join(repoRoot, 'dist/src/cli/main.js');
  if (!(await stale(main))) return main;
  await mkdir(join(repoRoot, 'dist'), { recursive: true });
  const lock = join(repoRoot, 'dist', '.build-lock');
  for (let waited = 0; ; waited += 200) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || waited > 180_000) throw error;
      // A lock left by a run that was killed mid-build.
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > 300_000) await rmdir(lock).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (await stale(main)) {
      await buildDist();
    }
  } finally {
    await rmdir(lock);
  }
  return main;
}

/**
 * `npm run build`, the one definition of the build: it also makes the command-line entry
 * executable, since `npx meshwarden` runs the package's bin directly and tsc writes files without
 * the execute bit (npx's own chmod happens only the first time it links a project path).
 */
export async function buildDist(): Promise<void> {
  await promisify(execFile)('npm', ['run', '--silent', 'build'], { cwd: repoRoot });
}
