import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCertificates } from '../../src/pki/files.js';
import { generateCertificates } from '../../src/pki/issue.js';
import { ensureBuilt, repoRoot } from '../helpers/build.js';

let dir: string;
let main: string;
let tls: string[];
const started: ChildProcess[] = [];

beforeAll(async () => {
  main = await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'meshwarden-serve-'));
  const paths = await writeCertificates(dir, await generateCertificates());
  tls = ['--cert', paths.cert, '--key', paths.key];
}, 180_000);

afterAll(async () => {
  for (const child of started)
    if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** Starts a process in its own group; resolves with its output once `until` matches. */
function startUntil(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  until: RegExp,
): Promise<string> {
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (until.test(output)) resolve(output);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
  });
}

const READY = /ready at https:\/\/localhost:(\d+)/;

describe('meshwarden serve, as npm start runs it', () => {
  let port: number;
  let json: string;

  beforeAll(async () => {
    json = await startUntil(process.execPath, [main, 'serve', '--port', '0', ...tls], {}, READY);
    port = Number(READY.exec(json)?.[1]);
  }, 120_000);

  it('logs JSON into a pipe: where the policy came from and which mesh it assumes, and why', () => {
    const lines = json
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; mesh?: string; basis?: string });
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'policy: policies/default.yaml (the default file, re-read when it changes; --policy picks another)',
        expect.stringMatching(/^mesh: istio, the policy's fallbackMesh \(spec\.mesh is auto/),
      ]),
    );
    expect(lines.find((l) => l.basis !== undefined)).toMatchObject({
      mesh: 'istio',
      basis: 'fallback',
    });
  });

  it('names PORT and --port when the port is taken, exit 2', () => {
    const run = spawnSync(process.execPath, [main, 'serve', ...tls], {
      cwd: repoRoot,
      env: { ...process.env, PORT: String(port), LOG_LEVEL: 'silent' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      `meshwarden: port ${port} is already in use by another process: set PORT (or --port) to another port, e.g. PORT=8444 npm start`,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('writes readable lines on a terminal, with no extra install', async () => {
    // script(1) runs the server on a pseudo-terminal, as a shell would.
    const command = [process.execPath, main, 'serve', '--port', '0', ...tls]
      .map((a) => `'${a}'`)
      .join(' ');
    const out = await startUntil(
      'script',
      ['-qec', command, '/dev/null'],
      { NO_COLOR: '1' },
      READY,
    );
    expect(out).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}policy: policies\/default\.yaml /m);
    expect(out).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}mesh: istio, the policy's fallbackMesh/m);
    expect(out).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}meshwarden ready at https:\/\/localhost:\d+ /m,
    );
    expect(out).not.toContain('{"level"');
  });
});
