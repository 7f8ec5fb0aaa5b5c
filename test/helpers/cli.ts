import { buildProgram } from '../../src/cli/program.js';
import type { ServeFlags } from '../../src/cli/serve-command.js';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/** Runs the built `meshwarden` command line (dist/, compiled by the global test setup). */
export function runCli(
  args: string[],
  input?: string,
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['dist/src/cli/main.js', ...args], {
    encoding: 'utf8',
    ...(input === undefined ? {} : { input }),
    env: { ...process.env, LOG_LEVEL: 'silent' },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The flags commander hands `meshwarden serve` for these arguments, defaults included. */
export async function parseServeFlags(args: string[]): Promise<ServeFlags> {
  const program = buildProgram();
  let flags: ServeFlags | undefined;
  program.commands
    .find((c) => c.name() === 'serve')
    ?.action((f: ServeFlags) => {
      flags = f;
    });
  await program.parseAsync(['node', 'meshwarden', 'serve', ...args]);
  if (!flags) throw new Error('serve did not run');
  return flags;
}

/** A temporary folder for one test file: made before its tests, removed after them. */
export function scratchDir(prefix: string) {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return {
    get dir(): string {
      return dir;
    },
    /** Writes `text` to `name` in the folder; the file's path. */
    file: async (name: string, text: string): Promise<string> => {
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    },
  };
}
