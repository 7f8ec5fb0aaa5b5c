import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, scratchDir } from '../helpers/cli.js';
import { mixedInput } from '../helpers/review-input.js';

const FIXTURES = 'test/fixtures/cli';
const scratch = scratchDir('meshwarden-cli-');
const file = scratch.file;

const policyCm = (ns: string, spec: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: meshwarden-policy
  namespace: ${ns}
data:
  policy.yaml: |
    apiVersion: meshwarden.io/v1alpha1
    kind: MeshPolicy
    spec:
${spec
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
`;

describe('meshwarden review', () => {
  it('exits 0 when every object is allowed, and reports each one', () => {
    const result = runCli(['review', '-f', `${FIXTURES}/bookinfo.yaml`]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/ALLOWED Deployment default\/reviews-v2 \(CREATE\)/);
    expect(result.stdout).toMatch(/objects? reviewed: \d+ allowed, 0 denied/);
  });

  it('exits 1 when an object is denied, printing the reason', async () => {
    const bad = await file('bad-policy.yaml', policyCm('meshwarden-system', 'mesh: nonsense'));
    const result = runCli(['review', '-f', bad]);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('DENIED  ConfigMap meshwarden-system/meshwarden-policy');
    expect(result.stdout).toContain('spec.mesh: must be one of');
  });

  it('exits 2 for input that cannot be parsed, naming file and line, and still reviews the other files', () => {
    const result = runCli([
      'review',
      '-f',
      `${FIXTURES}/inject_gettest_deployment.bad.input.yml`,
      `${FIXTURES}/sleep.yaml`,
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/inject_gettest_deployment\.bad\.input\.yml:\d+: not valid YAML/);
    expect(result.stdout).toContain('Deployment default/sleep');
  });

  it('exits 2 for a path that does not exist', () => {
    const result = runCli(['review', '-f', 'no/such/file.yaml']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('no/such/file.yaml: cannot read: ENOENT');
  });

  it('exits 2 on usage errors, without a stack trace', () => {
    for (const args of [
      ['review'],
      ['review', '-f', 'x', '-o', 'xml'],
      ['review', '-f', `${FIXTURES}/sleep.yaml`, '--mesh', 'nope'],
      ['nonsense'],
    ]) {
      const result = runCli(args);
      expect(result.status).toBe(2);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('prints the contract JSON shape with -o json', () => {
    const result = runCli(['review', '-f', `${FIXTURES}/sleep.yaml`, '-o', 'json']);
    const parsed = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(parsed.map((r) => r.kind)).toEqual(['ServiceAccount', 'Service', 'Deployment']);
    for (const r of parsed) {
      for (const key of [
        'kind',
        'namespace',
        'name',
        'operation',
        'allowed',
        'message',
        'warnings',
        'patch',
      ])
        expect(r).toHaveProperty(key);
    }
  });

  it('-o json holds every result: denials, SKIPPED objects and documents, and input errors', async () => {
    const input = await mixedInput(scratch.dir);
    const result = runCli(['review', '-f', input, '-o', 'json']);
    expect(result.status).toBe(2);
    type Entry = {
      kind: string | null;
      name: string | null;
      allowed: boolean;
      result: string;
      reason: string | null;
      message: string | null;
      source: string;
      violations: { rule: string; enforcement: string; source: string }[];
    };
    const entries = JSON.parse(result.stdout) as Entry[];
    const line = (e: Entry) => `${e.result} ${e.kind ?? '-'} ${e.name ?? '-'}`;
    expect(entries.map(line)).toEqual([
      'denied Deployment cart',
      'allowed Deployment web',
      'skipped Service web',
      'skipped - -',
      'error - -',
    ]);
    expect(entries[0]?.violations).toEqual([
      expect.objectContaining({
        rule: 'version-labels',
        enforcement: 'enforce',
        source: `${input}/apps.yaml:11`,
      }),
    ]);
    expect(entries[2]?.reason).toBe('kind not checked: v1 Service');
    expect(entries[3]).toMatchObject({
      allowed: true,
      reason: 'not a Kubernetes manifest (no apiVersion and kind)',
      source: `${input}/prometheus.yml:1`,
    });
    expect(entries[4]).toMatchObject({ allowed: false, result: 'error' });
    expect(entries[4]?.message).toMatch(/^not valid YAML/);
    expect(entries[4]?.source).toMatch(/zz-broken\.yaml:\d+$/);
  });

  it('-o json gives AUDIT results with what was recorded, and why a rule let an object pass', async () => {
    const input = await mixedInput(scratch.dir);
    const context = await file(
      'shop-namespace.yaml',
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n',
    );
    const audited = runCli([
      'review',
      '-f',
      join(input, 'apps.yaml'),
      '--context',
      context,
      '-o',
      'json',
    ]);
    expect(audited.status).toBe(0);
    const [cart] = JSON.parse(audited.stdout) as {
      result: string;
      audit: Record<string, string>;
      reason: string;
    }[];
    expect(cart?.result).toBe('audit');
    expect(cart?.audit['version-labels']).toMatch(/namespace shop takes part in no mesh/);
    expect(cart?.reason).toMatch(/^sidecar-injection: .*\nversion-labels: /s);

    const rollback = runCli([
      'review',
      '-f',
      'examples/canary-gloo/vs-100-0.yaml',
      '--old',
      'examples/canary-gloo/vs-40-60.yaml',
      '-o',
      'json',
    ]);
    const [vs] = JSON.parse(rollback.stdout) as { passed: { rule: string; reason: string }[] }[];
    expect(vs?.passed).toEqual([
      {
        rule: 'weight-shift',
        reason: 'rollback: all traffic of domain * returns to its stable backend echo (version=v1)',
      },
    ]);
  });

  it('shows a DENIED object without a patch line, only what would also be patched', () => {
    const result = runCli([
      'review',
      '-f',
      'examples/canary-gloo/vs-50-50.yaml',
      '--old',
      'examples/canary-gloo/vs-100-0.yaml',
    ]);
    expect(result.status).toBe(1);
    expect(result.stdout).not.toMatch(/^ {2}patch:/m);
    expect(result.stdout).toContain(
      '  (would also be patched: add /metadata/annotations: meshwarden.io/stable-backends, meshwarden.io/last-weight-change)',
    );
    const allowed = runCli([
      'review',
      '-f',
      'examples/canary-gloo/vs-80-20.yaml',
      '--old',
      'examples/canary-gloo/vs-100-0.yaml',
    ]);
    expect(allowed.stdout).toMatch(/^ {2}patch: add \/metadata\/annotations /m);
    expect(allowed.stdout).not.toContain('would also be patched');
  });

  it('reads stdin with -, and expands multi-document YAML and List objects', () => {
    const list = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' } },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'b' } },
      ],
    });
    const result = runCli(
      ['review', '-f', '-', '-o', 'json'],
      `${list}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: c\n`,
    );
    expect(result.status).toBe(0);
    expect((JSON.parse(result.stdout) as { name: string }[]).map((r) => r.name)).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('walks folders recursively for *.yaml, *.yml and *.json', async () => {
    const sub = join(scratch.dir, 'walk', 'nested');
    await import('node:fs/promises').then((fs) => fs.mkdir(sub, { recursive: true }));
    await writeFile(
      join(scratch.dir, 'walk', 'a.yaml'),
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n',
    );
    await writeFile(
      join(sub, 'b.json'),
      '{"apiVersion":"v1","kind":"Service","metadata":{"name":"b"}}',
    );
    await writeFile(join(sub, 'c.txt'), 'not a manifest');
    const result = runCli(['review', '-f', join(scratch.dir, 'walk'), '-o', 'json']);
    expect((JSON.parse(result.stdout) as { name: string }[]).map((r) => r.name).sort()).toEqual([
      'a',
      'b',
    ]);
  });

  it('reviews an UPDATE when --old holds the same object', async () => {
    const next = await file('cm-new.yaml', policyCm('shop', 'weightShift:\n  maxStepWeight: 10'));
    const old = await file('cm-old.yaml', policyCm('shop', 'weightShift:\n  maxStepWeight: 15'));
    const result = runCli(['review', '-f', next, '--old', old, '-o', 'json']);
    expect((JSON.parse(result.stdout) as { operation: string }[])[0]?.operation).toBe('UPDATE');
  });

  it('reviews AdmissionReview and AdmissionRequest bodies as the request they carry', () => {
    const result = runCli([
      'review',
      '-f',
      `${FIXTURES}/whorf-request.json`,
      `${FIXTURES}/pepr-admission-create-deployment.json`,
      '-o',
      'json',
    ]);
    // Both Deployments carry an app label but no version label: reviewed, and denied for it.
    expect(result.status).toBe(1);
    const parsed = JSON.parse(result.stdout) as { kind: string; operation: string }[];
    expect(parsed.map((r) => `${r.kind}/${r.operation}`)).toEqual([
      'Deployment/CREATE',
      'Deployment/CREATE',
    ]);
  });

  it('with --strict, flags a document that is not a Kubernetes object as bad input', async () => {
    const path = await file('not-object.yaml', 'just: a map\n---\n- a list\n');
    const result = runCli(['review', '-f', path, '--strict']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('not-object.yaml:1: document has no apiVersion and kind');
    expect(result.stderr).toContain('not-object.yaml:3: document is not a mapping');
  });

  it('sweeps the whole reference corpus without a crash: parse failures located, everything else decided', () => {
    const corpus = '../shared/reference/corpus';
    const present = existsSync(corpus);
    // A fresh clone has no shared corpus; the bundled copies then stand in for it, and the test says so.
    if (!present)
      console.info(`${corpus} is absent: sweeping the bundled fixtures in ${FIXTURES} only`);
    const result = runCli(['review', '-f', present ? corpus : FIXTURES, '-o', 'json']);
    expect([0, 1, 2]).toContain(result.status);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    const errors = result.stderr.split('\n').filter((l) => l !== '');
    for (const line of errors) expect(line).toMatch(/^error: \S+:\d+: /);
    expect(errors.some((l) => l.includes('inject_gettest_deployment.bad.input.yml'))).toBe(true);
    const parsed = JSON.parse(result.stdout) as { allowed: boolean; source: string }[];
    expect(parsed.length).toBeGreaterThan(present ? 200 : 10);
    for (const r of parsed) expect(typeof r.allowed).toBe('boolean');
  });
});

describe('meshwarden policy check', () => {
  it('exits 0 for policies/default.yaml and for a valid ConfigMap', async () => {
    expect(runCli(['policy', 'check', '-f', 'policies/default.yaml']).status).toBe(0);
    const cm = await file('ok-cm.yaml', policyCm('meshwarden-system', 'mesh: linkerd'));
    expect(runCli(['policy', 'check', '-f', cm]).status).toBe(0);
  });

  it('exits 1 for an invalid policy, naming file, line and key', async () => {
    const path = await file(
      'bad.yaml',
      'apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  weightShift:\n    maxStepWeight: 0\n',
    );
    const result = runCli(['policy', 'check', '-f', path]);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain(
      `${path}:line 5: spec.weightShift.maxStepWeight: must be at least 1; got 0`,
    );
  });

  it('exits 2 when the file cannot be read', () => {
    expect(runCli(['policy', 'check', '-f', 'nope.yaml']).status).toBe(2);
  });
});

describe('meshwarden certs', () => {
  it('writes a CA and a serving certificate for the Service', async () => {
    const out = join(scratch.dir, 'certs');
    const result = runCli([
      'certs',
      '--out',
      out,
      '--service',
      'hook',
      '--namespace',
      'ops',
      '--days',
      '30',
    ]);
    expect(result.status).toBe(0);
    const { X509Certificate } = await import('node:crypto');
    const { readFile } = await import('node:fs/promises');
    const leaf = new X509Certificate(await readFile(join(out, 'tls.crt')));
    const ca = new X509Certificate(await readFile(join(out, 'ca.crt')));
    expect(leaf.checkHost('hook.ops.svc')).toBe('hook.ops.svc');
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(result.stdout).toContain('caBundle: ');
  });

  it('refuses a bad --days', () => {
    expect(runCli(['certs', '--out', join(scratch.dir, 'x'), '--days', 'soon']).status).toBe(2);
  });
});
