import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { parseAllDocuments, stringify } from 'yaml';
import { describe, expect, it, vi } from 'vitest';
import type { KubeObject } from '../../src/k8s/objects.js';
import { UsageError } from '../../src/cli/errors.js';
import { buildProgram } from '../../src/cli/program.js';
import { MESH_IDS } from '../../src/mesh/ids.js';
import { crdProblems } from '../traffic/crd-validator.js';
import { CORPUS, markdownExamples } from '../traffic/fixtures.js';

/** Runs `meshwarden <args>` in-process as main.ts would, capturing output and exit code. */
async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  process.exitCode = undefined;
  let code: number;
  try {
    await buildProgram()
      .configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) })
      .parseAsync(['node', 'meshwarden', ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) code = error.exitCode === 0 ? 0 : 2;
    else if (error instanceof UsageError) {
      stderr += `meshwarden: ${error.message}\n`;
      code = 2;
    } else throw error;
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
  return { code, stdout, stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'meshwarden-translate-'));

function write(name: string, objects: KubeObject[]): string {
  const file = join(dir, name);
  writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  return file;
}

const service = write('reviews-service.yaml', [
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'reviews', namespace: 'shop' },
    spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] },
  },
]);

const splitFile = (version: string) =>
  write(`reviews-${version}.yaml`, [
    {
      apiVersion: `split.smi-spec.io/${version}`,
      kind: 'TrafficSplit',
      metadata: { name: 'reviews-rollout', namespace: 'shop' },
      spec: {
        service: 'reviews',
        backends: [
          { service: 'reviews-v1', weight: version === 'v1alpha1' ? '1' : 1000 },
          { service: 'reviews-v2', weight: version === 'v1alpha1' ? '500m' : 500 },
        ],
      },
    },
  ]);

const parsed = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as KubeObject);

const KIND: Record<string, string> = {
  istio: 'VirtualService',
  linkerd: 'HTTPRoute',
  kuma: 'HTTPRoute',
  'gateway-api': 'HTTPRoute',
  consul: 'ServiceSplitter',
  appmesh: 'VirtualRouter',
  gloo: 'RouteTable',
  osm: 'TrafficSplit',
};

/** Kinds written besides the route (Consul's discovery chain, App Mesh's provider). */
const PREREQUISITES: Record<string, string[]> = {
  consul: ['ServiceDefaults', 'ServiceDefaults', 'ServiceDefaults'],
  appmesh: ['VirtualService'],
};

describe('meshwarden translate', () => {
  for (const version of ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4']) {
    it(`prints valid native objects for every mesh from a ${version} TrafficSplit`, async () => {
      const file = splitFile(version);
      for (const mesh of MESH_IDS) {
        const { code, stdout, stderr } = await run(
          'translate',
          '-f',
          file,
          service,
          '--mesh',
          mesh,
        );
        // Offline, the prerequisites Consul and App Mesh need come with a warning each.
        const lines = stderr.split('\n').filter((l) => l !== '');
        expect({ mesh, code, errors: lines.filter((l) => !l.startsWith('warning: ')) }).toEqual({
          mesh,
          code: 0,
          errors: [],
        });
        if (!PREREQUISITES[mesh]) expect(stderr, mesh).toBe('');
        const objects = parsed(stdout);
        expect(objects.map((o) => o.kind)).toEqual([KIND[mesh], ...(PREREQUISITES[mesh] ?? [])]);
        for (const o of objects) expect(crdProblems(o), mesh).toEqual([]);
      }
    });
  }

  it('translates for istio by default (the default policy fallbackMesh)', async () => {
    const { code, stdout } = await run('translate', '-f', splitFile('v1alpha2'));
    expect(code).toBe(0);
    const [vs] = parsed(stdout);
    expect(vs?.kind).toBe('VirtualService');
    expect(
      (vs?.spec as { http: { route: { weight: number }[] }[] }).http[0]?.route.map((r) => r.weight),
    ).toEqual([67, 33]);
  });

  it('prints a List with -o json', async () => {
    const { code, stdout } = await run(
      'translate',
      '-f',
      splitFile('v1alpha3'),
      '--mesh',
      'consul',
      '-o',
      'json',
    );
    expect(code).toBe(0);
    const list = JSON.parse(stdout) as { kind: string; items: KubeObject[] };
    expect(list.kind).toBe('List');
    expect(list.items[0]?.spec).toEqual({
      splits: [
        { weight: 66.67, service: 'reviews-v1' },
        { weight: 33.33, service: 'reviews-v2' },
      ],
    });
  });

  it('reads folders, takes --port when no Service is given, and prints the same bytes twice', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'meshwarden-translate-dir-'));
    writeFileSync(
      join(folder, 'split.yaml'),
      stringify({
        apiVersion: 'split.smi-spec.io/v1alpha2',
        kind: 'TrafficSplit',
        metadata: { name: 'web', namespace: 'shop' },
        spec: {
          service: 'web',
          backends: [
            { service: 'web-a', weight: 1 },
            { service: 'web-b', weight: 1 },
            { service: 'web-c', weight: 1 },
          ],
        },
      }),
    );
    const first = await run('translate', '-f', folder, '--mesh', 'gateway-api', '--port', '8080');
    const second = await run('translate', '-f', folder, '--mesh', 'gateway-api', '--port', '8080');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(second.stdout);
    const [route] = parsed(first.stdout);
    expect(route?.spec).toMatchObject({
      parentRefs: [{ group: '', kind: 'Service', name: 'web', port: 8080 }],
      rules: [
        {
          backendRefs: [
            // HTTPRoute weights are relative: 1:1:1 stays exact rather than 34/33/33.
            { name: 'web-a', weight: 1 },
            { name: 'web-b', weight: 1 },
            { name: 'web-c', weight: 1 },
          ],
        },
      ],
    });
  });

  it('translates the corpus TrafficSplits as they are', async () => {
    // traefik/mesh keeps the root Service (port 8080) in the same file as its v1alpha3 split.
    const traefik = join(
      CORPUS,
      'traefik-mesh/integration/testdata/acl_enabled/traffic-split/1.server-split.yaml',
    );
    const linkerd = await run('translate', '-f', traefik, '--mesh', 'linkerd');
    expect(linkerd.code).toBe(0);
    expect(parsed(linkerd.stdout)[0]?.spec).toMatchObject({
      parentRefs: [{ name: 'server-http-split', port: 8080 }],
    });
    const osm = await run(
      'translate',
      '-f',
      join(CORPUS, 'emojivoto/training/traffic-split'),
      '--mesh',
      'osm',
    );
    expect(osm.code).toBe(0);
    expect(parsed(osm.stdout).map((o) => (o.spec as { backends: unknown }).backends)).toEqual([
      [
        { service: 'web-svc', weight: 0 },
        { service: 'web-svc-2', weight: 1 },
      ],
      [
        { service: 'web-svc', weight: 1 },
        { service: 'web-svc-2', weight: 3 },
      ],
      [
        { service: 'web-svc', weight: 1 },
        { service: 'web-svc-2', weight: 1 },
      ],
    ]);
  });

  it('resolves HTTPRouteGroups given in the input (the smi-spec A/B example)', async () => {
    const examples = markdownExamples('v1alpha4');
    const file = write('ab-test.yaml', [
      examples.find((o) => o.metadata?.name === 'ab-test' && o.kind === 'TrafficSplit')!,
      examples.find((o) => o.kind === 'HTTPRouteGroup')!,
    ]);
    const { code, stdout } = await run('translate', '-f', file, '--mesh', 'istio');
    expect(code).toBe(0);
    const http = (parsed(stdout)[0]?.spec as { http: { name: string }[] }).http;
    expect(http.map((h) => h.name)).toEqual(['matched', 'fallback']);
    const refused = await run('translate', '-f', file, '--mesh', 'consul');
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /ab-test\.yaml:1: TrafficSplit default\/ab-test: a Consul ServiceSplitter splits all traffic of website/,
    );
  });

  it('prints warnings on stderr and still succeeds', async () => {
    const file = write('tiny.yaml', [
      {
        apiVersion: 'split.smi-spec.io/v1alpha2',
        kind: 'TrafficSplit',
        metadata: { name: 'tiny', namespace: 'shop' },
        spec: {
          service: 'reviews',
          backends: [
            { service: 'reviews-v1', weight: 1 },
            { service: 'reviews-v2', weight: 500 },
          ],
        },
      },
    ]);
    const { code, stderr } = await run('translate', '-f', file);
    expect(code).toBe(0);
    expect(stderr).toBe(
      `warning: ${file}:1: TrafficSplit shop/tiny: backend reviews-v1 has a 0.2% share, which rounds to 0 in whole percents: it gets no traffic\n`,
    );
  });

  describe('exits 2 on invalid input, with the reason', () => {
    it('an invalid TrafficSplit, named with file and line, and nothing on stdout', async () => {
      const file = write('bad.yaml', [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
        {
          apiVersion: 'split.smi-spec.io/v1alpha2',
          kind: 'TrafficSplit',
          metadata: { name: 'bad', namespace: 'shop' },
          spec: { service: 'reviews', backends: [{ service: 'reviews-v1', weight: -5 }] },
        },
      ]);
      const { code, stdout, stderr } = await run('translate', '-f', file, splitFile('v1alpha2'));
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toBe(
        `error: ${file}:6: TrafficSplit shop/bad: spec.backends[0].weight: backend reviews-v1 has weight -5, which is negative: set a whole number of 0 or more (0 sends it no traffic)\n`,
      );
    });

    it('YAML that does not parse, with file and line', async () => {
      const file = join(dir, 'broken.yaml');
      writeFileSync(file, 'apiVersion: v1\nkind: [unclosed\n');
      const { code, stderr } = await run('translate', '-f', file);
      expect(code).toBe(2);
      expect(stderr).toMatch(
        new RegExp(`^error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: not valid YAML`),
      );
    });

    it('no TrafficSplit at all', async () => {
      const { code, stderr } = await run('translate', '-f', service);
      expect(code).toBe(2);
      expect(stderr).toBe(`error: no split.smi-spec.io TrafficSplit in ${service}\n`);
    });

    it('a missing port for a mesh that needs one', async () => {
      const { code, stderr } = await run(
        'translate',
        '-f',
        splitFile('v1alpha4'),
        '--mesh',
        'appmesh',
      );
      expect(code).toBe(2);
      expect(stderr).toMatch(
        /appmesh\.k8s\.aws\/v1beta2 VirtualRouter needs the port of root Service reviews/,
      );
    });

    it('an unknown mesh or a bad port', async () => {
      expect((await run('translate', '-f', service, '--mesh', 'nginx')).code).toBe(2);
      const port = await run('translate', '-f', splitFile('v1alpha2'), '--port', 'http');
      expect(port.code).toBe(2);
      expect(port.stderr).toMatch(/--port takes a port number \(1-65535\); got http/);
    });

    it('a file that does not exist', async () => {
      const { code, stderr } = await run('translate', '-f', join(dir, 'absent.yaml'));
      expect(code).toBe(2);
      expect(stderr).toMatch(/absent\.yaml: cannot read: ENOENT/);
    });
  });
});

describe('meshwarden translate: versions, owners, the cluster’s own objects', () => {
  it('--target-version picks the version written; a malformed one is a usage error', async () => {
    const file = splitFile('v1alpha2');
    const linkerd = await run('translate', '-f', file, service, '--mesh', 'linkerd');
    expect(parsed(linkerd.stdout)[0]?.apiVersion).toBe('gateway.networking.k8s.io/v1beta1');
    const v1 = await run(
      'translate',
      '-f',
      file,
      service,
      '--mesh',
      'linkerd',
      '--target-version',
      'gateway.networking.k8s.io/v1',
    );
    expect(v1.code).toBe(0);
    expect(parsed(v1.stdout)[0]?.apiVersion).toBe('gateway.networking.k8s.io/v1');
    const bad = await run('translate', '-f', file, '--target-version', 'v1');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--target-version takes <group>\/<version>/);
    const unsupported = await run(
      'translate',
      '-f',
      file,
      service,
      '--mesh',
      'gateway-api',
      '--target-version',
      'gateway.networking.k8s.io/v1alpha2',
    );
    expect(unsupported.code).toBe(2);
    expect(unsupported.stderr).toMatch(/gateway\.networking\.k8s\.io\/v1alpha2 is not a version/);
  });

  it('--target-version for a group the mesh does not write, or a version its writer lacks, is refused', async () => {
    const file = splitFile('v1alpha2');
    // A typo in the group would otherwise print v1, which Linkerd 2.14 to 2.17 cannot apply.
    const typo = await run(
      'translate',
      '-f',
      file,
      service,
      '--mesh',
      'linkerd',
      '--target-version',
      'gateway.networking.k8s.i/v1beta1',
    );
    expect(typo.code).toBe(2);
    expect(typo.stdout).toBe('');
    expect(typo.stderr).toMatch(
      /--target-version names gateway\.networking\.k8s\.i, which --mesh linkerd does not write; it writes gateway\.networking\.k8s\.io/,
    );
    // Consul's writer has one version: another is refused, not silently ignored.
    const consul = await run(
      'translate',
      '-f',
      file,
      service,
      '--mesh',
      'consul',
      '--target-version',
      'consul.hashicorp.com/v1beta1',
    );
    expect(consul.code).toBe(2);
    expect(consul.stderr).toMatch(
      /consul\.hashicorp\.com\/v1beta1 is not a version meshwarden writes; it writes consul\.hashicorp\.com\/v1alpha1/,
    );
    const same = await run(
      'translate',
      '-f',
      file,
      service,
      '--mesh',
      'consul',
      '--target-version',
      'consul.hashicorp.com/v1alpha1',
    );
    expect(same.code, same.stderr).toBe(0);
  });

  it('sets the ownerReference when the split has a uid, as the reconciler does', async () => {
    const withUid = write('with-uid.yaml', [
      {
        apiVersion: 'split.smi-spec.io/v1alpha2',
        kind: 'TrafficSplit',
        metadata: { name: 'reviews-rollout', namespace: 'shop', uid: '1d5e-77' },
        spec: { service: 'reviews', backends: [{ service: 'reviews-v1', weight: 1 }] },
      },
    ]);
    const { code, stdout } = await run('translate', '-f', withUid, service, '--mesh', 'istio');
    expect(code).toBe(0);
    expect(parsed(stdout)[0]?.metadata?.ownerReferences).toEqual([
      {
        apiVersion: 'split.smi-spec.io/v1alpha2',
        kind: 'TrafficSplit',
        name: 'reviews-rollout',
        uid: '1d5e-77',
        controller: true,
      },
    ]);
  });

  it('uses the ServiceDefaults given in the input rather than printing new ones', async () => {
    const own = write('own-defaults.yaml', [
      {
        apiVersion: 'consul.hashicorp.com/v1alpha1',
        kind: 'ServiceDefaults',
        metadata: { name: 'reviews', namespace: 'shop' },
        spec: { protocol: 'http' },
      },
    ]);
    const { code, stdout } = await run(
      'translate',
      '-f',
      splitFile('v1alpha2'),
      service,
      own,
      '--mesh',
      'consul',
    );
    expect(code).toBe(0);
    expect(
      parsed(stdout)
        .filter((o) => o.kind === 'ServiceDefaults')
        .map((o) => o.metadata?.name),
    ).toEqual(['reviews-v1', 'reviews-v2']);
  });
});
