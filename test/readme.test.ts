import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, repoRoot } from './helpers/build.js';

// Every command of the README's ```sh and ```text blocks runs here as shown, from the repository
// root, and is checked for its exit code and the first line it prints. A ```text block shows a
// `$ command`, its output and then `$ echo $?` with the exit code; a ```sh command's outcome is
// in RUNS below. A command the README gains without an entry in RUNS or EXCLUDED fails the test.

const README = readFileSync(`${repoRoot}/README.md`, 'utf8');
const VERSION = (
  JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8')) as { version: string }
).version;
/** `npx` alone takes seconds on a loaded machine. */
const SLOW = 120_000;

interface Example {
  readonly command: string;
  /** From a ```text block: the output's first line and the exit code shown. */
  readonly shown?: { readonly first: string; readonly exit: number | undefined };
}

function examples(): Example[] {
  const out: Example[] = [];
  for (const [, lang, body] of README.matchAll(/^```(sh|text)\n([\s\S]*?)^```$/gm)) {
    const lines = (body ?? '').replace(/\\\n\s*/g, '').split('\n');
    if (lang === 'sh') {
      for (const line of lines) {
        const command = line.replace(/\s+#.*$/, '').trim();
        if (command !== '') out.push({ command });
      }
      continue;
    }
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? '';
      if (!line.startsWith('$ ') || line === '$ echo $?') continue;
      const next = lines.indexOf('$ echo $?', i);
      const exit = next === -1 ? undefined : Number(lines[next + 1]);
      out.push({ command: line.slice(2), shown: { first: lines[i + 1] ?? '', exit } });
    }
  }
  return out;
}

/** Commands that cannot run in the test suite, and why. */
const EXCLUDED: readonly { readonly pattern: RegExp; readonly why: string }[] = [
  {
    pattern: /^npm ci$/,
    why: 'reinstalls node_modules under the running tests; .ci/run runs it first',
  },
  { pattern: /^npm (test|run check)$/, why: 'runs this very test; CI runs it (.ci/run)' },
  {
    pattern: /^npm run test:image$/,
    why: 'needs root, apt and podman, and minutes; its own CI step',
  },
  {
    pattern: /^npm run (bench|fuzz)$/,
    why: 'minutes of load: figures and a long fuzz, not a check',
  },
  { pattern: /^(docker|podman|kind) /, why: 'needs a container engine and a kind cluster' },
  { pattern: /^helm (install|upgrade|uninstall) /, why: 'needs a cluster' },
  {
    pattern: /^KUBECONFIG=\S+ npx vitest run test\/e2e$/,
    why: 'needs a cluster; it runs vitest itself',
  },
];

/** The ```sh commands that run here: exit code and the first line of output. */
const RUNS: Readonly<Record<string, { readonly exit: number; readonly first: RegExp }>> = {
  'npx meshwarden review -f examples/canary-gloo/vs-80-20.yaml --old examples/canary-gloo/vs-100-0.yaml':
    { exit: 0, first: /^ALLOWED VirtualService\.gateway\.solo\.io gloo-system\/echo \(UPDATE\) / },
  'npx meshwarden review -f examples/canary-gloo/vs-60-40.yaml --old examples/canary-gloo/vs-80-20.yaml':
    { exit: 0, first: /^ALLOWED VirtualService\.gateway\.solo\.io gloo-system\/echo \(UPDATE\) / },
  'npx meshwarden review -f examples/canary-gloo/vs-100-0.yaml --old examples/canary-gloo/vs-40-60.yaml':
    { exit: 0, first: /^ALLOWED VirtualService\.gateway\.solo\.io gloo-system\/echo \(UPDATE\) / },
  "curl --cacert certs/ca.crt -H 'Content-Type: application/json' --data @examples/admission-review.json https://localhost:8443/mutate":
    {
      exit: 0,
      first:
        /^\{"apiVersion":"admission\.k8s\.io\/v1","kind":"AdmissionReview","response":\{"uid":"/,
    },
};

/** `npm start` keeps serving: it runs in the background, and the curl commands talk to it. */
const SERVER = 'npm start';

const all = examples();
const excluded = (command: string) => EXCLUDED.find((e) => e.pattern.test(command));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let server: ChildProcess | undefined;
let serverOutput = '';
let port = 0;

beforeAll(async () => {
  await ensureBuilt();
  port = await freePort();
  // As shown, but on a free port (PORT), since 8443 may be taken on a shared machine.
  server = spawn('bash', ['-c', SERVER], {
    cwd: repoRoot,
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      serverOutput += chunk.toString();
      if (serverOutput.includes(`meshwarden ready at https://localhost:${port}`)) resolve();
    };
    server?.stdout?.on('data', onData);
    server?.stderr?.on('data', onData);
    server?.once('exit', (code) => reject(new Error(`npm start exited ${code}: ${serverOutput}`)));
  });
}, 180_000);

afterAll(() => {
  if (server?.pid !== undefined && server.exitCode === null) process.kill(-server.pid, 'SIGTERM');
});

function run(command: string): { status: number | null; first: string; output: string } {
  const result = spawnSync(
    'bash',
    ['-c', command.replaceAll('localhost:8443', `localhost:${port}`)],
    {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  const output = result.stdout;
  return {
    status: result.status,
    first: output.split('\n')[0] ?? '',
    output: output + result.stderr,
  };
}

describe('README.md examples', () => {
  it('has commands, each of them run below or excluded with a reason', () => {
    expect(all.length).toBeGreaterThan(15);
    const unknown = all.filter(
      (e) =>
        e.shown === undefined &&
        e.command !== SERVER &&
        !excluded(e.command) &&
        !(e.command in RUNS),
    );
    expect(unknown.map((e) => e.command)).toEqual([]);
    // Every entry of RUNS is still in the README.
    for (const command of Object.keys(RUNS)) expect(all.map((e) => e.command)).toContain(command);
  });

  it('npx meshwarden runs the built entry directly, so it is executable', () => {
    const mode = statSync(`${repoRoot}/dist/src/cli/main.js`).mode;
    expect(mode & 0o111).toBe(0o111);
    expect(readFileSync(`${repoRoot}/dist/src/cli/main.js`, 'utf8')).toMatch(
      /^#!\/usr\/bin\/env node\n/,
    );
  });

  it('npm start serves as described: where the policy came from, the mesh and why, then ready', () => {
    expect(serverOutput.split('\n')[1]).toBe(`> meshwarden@${VERSION} start`);
    expect(serverOutput).toContain('policy: policies/default.yaml (the default file');
    expect(serverOutput).toContain("mesh: istio, the policy's fallbackMesh");
  });

  it.each(all.filter((e) => e.shown !== undefined))(
    '$command',
    (example) => {
      const result = run(example.command);
      expect(example.shown?.exit, 'the block shows `$ echo $?` and the exit code').toBeTypeOf(
        'number',
      );
      expect(result.status, result.output).toBe(example.shown?.exit);
      expect(result.first).toBe(example.shown?.first);
    },
    SLOW,
  );

  it.each(Object.entries(RUNS))(
    '%s',
    (command, expected) => {
      const result = run(command);
      expect(result.status, result.output).toBe(expected.exit);
      expect(result.first).toMatch(expected.first);
    },
    SLOW,
  );

  it.each(EXCLUDED.map((e) => [e.pattern.source, e.why]))('excluded: %s (%s)', (pattern) => {
    // An exclusion that matches nothing in the README is stale.
    expect(all.some((e) => new RegExp(pattern).test(e.command))).toBe(true);
  });
});
