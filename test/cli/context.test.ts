import { describe, expect, it } from 'vitest';
import { contextFacts, indexContext } from '../../src/cli/context.js';
import { parseManifestText, type InputError, type SourcedObject } from '../../src/cli/manifests.js';
import { staticClusterView } from '../../src/admission/cluster-view.js';

function read(text: string): SourcedObject[] {
  const objects: SourcedObject[] = [];
  const errors: InputError[] = [];
  parseManifestText(text, 'context.yaml', objects, errors);
  expect(errors).toEqual([]);
  return objects;
}

const TEXT = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {istio-injection: enabled, tier: 1}
---
apiVersion: v1
kind: Namespace
metadata:
  name: mesh
  annotations: {linkerd.io/inject: enabled}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
`;

describe('review --context', () => {
  it('indexes Namespaces with their labels (as strings, with the name label) and annotations', () => {
    const context = indexContext(read(TEXT));
    expect(context.namespaceLabels.shop).toEqual({
      'kubernetes.io/metadata.name': 'shop',
      'istio-injection': 'enabled',
      tier: '1',
    });
    expect(context.namespaceAnnotations.mesh).toEqual({ 'linkerd.io/inject': 'enabled' });
    expect(context.objects).toHaveLength(3);
  });

  it('gives the cluster view the Namespaces, the other objects, and --namespace-labels for the rest', () => {
    const view = staticClusterView(contextFacts(indexContext(read(TEXT)), { team: 'x' }));
    expect(view.namespaceLabels('shop')?.['istio-injection']).toBe('enabled');
    expect(view.namespaceLabels('elsewhere')).toEqual({ team: 'x' });
    expect(view.namespaceAnnotations?.('mesh')).toEqual({ 'linkerd.io/inject': 'enabled' });
    expect(view.object?.('apps', 'Deployment', 'shop', 'api')?.metadata?.name).toBe('api');
    expect(view.object?.('apps', 'Deployment', 'mesh', 'api')).toBeUndefined();
    expect(
      staticClusterView(contextFacts(indexContext([]), undefined)).namespaceLabels('shop'),
    ).toBeUndefined();
  });
});
