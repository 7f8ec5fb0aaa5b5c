import { describe, expect, it } from 'vitest';
import { kindNamer } from '../../src/cli/kind-names.js';
import { runCli } from '../helpers/cli.js';

describe('kindNamer', () => {
  const name = kindNamer([]);

  it('adds the API group where meshwarden knows the kind in more than one group', () => {
    expect(name({ kind: 'Service', apiVersion: 'serving.knative.dev/v1' })).toBe(
      'Service.serving.knative.dev',
    );
    expect(name({ kind: 'VirtualService', apiVersion: 'networking.istio.io/v1' })).toBe(
      'VirtualService.networking.istio.io',
    );
    expect(name({ kind: 'VirtualService', apiVersion: 'gateway.solo.io/v1' })).toBe(
      'VirtualService.gateway.solo.io',
    );
    expect(name({ kind: 'HTTPRoute', apiVersion: 'policy.linkerd.io/v1beta3' })).toBe(
      'HTTPRoute.policy.linkerd.io',
    );
  });

  it('keeps the plain kind for the core group and for kinds that are not ambiguous', () => {
    expect(name({ kind: 'Service', apiVersion: 'v1' })).toBe('Service');
    expect(name({ kind: 'Deployment', apiVersion: 'apps/v1' })).toBe('Deployment');
    expect(name({ kind: 'TrafficSplit', apiVersion: 'split.smi-spec.io/v1alpha2' })).toBe(
      'TrafficSplit',
    );
  });

  it('adds the group when the objects at hand share a kind name across groups', () => {
    const objects = [
      { kind: 'Certificate', apiVersion: 'cert-manager.io/v1' },
      { kind: 'Certificate', apiVersion: 'example.com/v1' },
    ];
    const named = kindNamer(objects);
    expect(objects.map(named)).toEqual(['Certificate.cert-manager.io', 'Certificate.example.com']);
    expect(name(objects[0]!)).toBe('Certificate');
  });
});

describe('review names kinds with their group where needed', () => {
  it('tells a Knative Service from a core Service, and keeps both apiVersions in -o json', () => {
    const input = `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: hello, namespace: web}
spec:
  template:
    spec:
      containers: [{image: example/hello:1}]
---
apiVersion: v1
kind: Service
metadata: {name: hello, namespace: web}
spec:
  ports: [{port: 80}]
`;
    const text = runCli(['review', '-f', '-'], input);
    expect(text.stdout).toMatch(/^\S+ +Service\.serving\.knative\.dev web\/hello \(CREATE\)/m);
    expect(text.stdout).toMatch(/^SKIPPED Service web\/hello \(CREATE\)/m);
    const json = JSON.parse(runCli(['review', '-f', '-', '-o', 'json'], input).stdout) as {
      kind: string;
      apiVersion: string;
    }[];
    expect(json.map((r) => `${r.apiVersion} ${r.kind}`)).toEqual([
      'serving.knative.dev/v1 Service',
      'v1 Service',
    ]);
  });
});
