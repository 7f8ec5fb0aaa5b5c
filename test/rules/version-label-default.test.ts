import { describe, expect, it } from 'vitest';
import { deployment, makeReview } from '../helpers/reviews.js';
import { admit, templateMeta, workloadEngine } from '../helpers/workload-engine.js';

function withImage(
  name: string,
  image: string,
  labels: Record<string, string> | null = { app: 'echo' },
) {
  const object = deployment(name, labels);
  (object.spec.template.spec.containers[0] as { image: string }).image = image;
  return object;
}

describe('version label defaulting', () => {
  const imageTag = () => workloadEngine({ mesh: 'gloo', versionLabels: { default: 'image-tag' } });
  const nameSuffix = () =>
    workloadEngine({ mesh: 'gloo', versionLabels: { default: 'name-suffix' } });

  it('image-tag: fills version from the first container image tag, and the workload passes', async () => {
    const object = withImage('echo', 'docker.io/curlimages/curl:8.16.0');
    (object.spec.template.spec.containers as unknown[]).push({ name: 'side', image: 'other:9.9' });
    const result = await admit(imageTag(), makeReview({ object }));
    expect(result.patch).toEqual([
      { op: 'add', path: '/spec/template/metadata/labels/version', value: '8.16.0' },
    ]);
    expect(result.allowed).toBe(true);
    expect(result.secondPatch).toEqual([]);
    expect(result.auditAnnotations['version-label-default']).toBe(
      'version=8.16.0 set from the image tag',
    );
  });

  it.each([
    `ghcr.io/x/echo@sha256:${'0123456789abcdef'.repeat(4)}`,
    'ghcr.io/x/echo:latest',
    'ghcr.io/x/echo:main',
    'ghcr.io/x/echo:alpine',
  ])(
    'image-tag: %s names no version, so nothing is filled and the label is refused',
    async (image) => {
      const result = await admit(imageTag(), makeReview({ object: withImage('echo', image) }));
      expect(templateMeta(result.patched, 'labels')?.version).toBeUndefined();
      expect(result.auditAnnotations['version-label-default']).toBeUndefined();
      expect(result.allowed).toBe(false);
      expect(result.message).toContain('so no version is suggested: set version to the release');
      expect(result.message).toContain('Fix: add {version: "<version>"}');
    },
  );

  it('image-tag: a tag that is not a valid label value is made into one', async () => {
    const result = await admit(
      imageTag(),
      makeReview({ object: withImage('echo', `echo:_${'1'.repeat(80)}.`) }),
    );
    const value = templateMeta(result.patched, 'labels')?.version as string;
    expect(value).toBe('1'.repeat(62));
    expect(result.secondPatch).toEqual([]);
  });

  it('image-tag: an untagged image leaves the label missing, and the validator denies', async () => {
    const result = await admit(imageTag(), makeReview({ object: withImage('echo', 'nginx') }));
    expect(result.patch).toEqual([]);
    expect(result.allowed).toBe(false);
  });

  it('creates the labels map when the template has none', async () => {
    const result = await admit(
      imageTag(),
      makeReview({ object: withImage('echo', 'echo:2.0', null) }),
    );
    expect(result.patch).toEqual([
      { op: 'add', path: '/spec/template/metadata/labels', value: { version: '2.0' } },
    ]);
    expect(result.message).toContain('has no app label');
  });

  it('name-suffix: echo-v2 gives v2', async () => {
    const result = await admit(
      nameSuffix(),
      makeReview({ object: withImage('echo-v2', 'echo:2.0') }),
    );
    expect(result.patch).toEqual([
      { op: 'add', path: '/spec/template/metadata/labels/version', value: 'v2' },
    ]);
    expect(result.allowed).toBe(true);
  });

  it('name-suffix: a name without a version suffix leaves the label missing', async () => {
    const result = await admit(
      nameSuffix(),
      makeReview({ object: withImage('podinfo-primary', 'echo:2.0') }),
    );
    expect(result.patch).toEqual([]);
    expect(result.allowed).toBe(false);
  });

  it('none: never fills the label', async () => {
    const result = await admit(
      workloadEngine({ mesh: 'gloo' }),
      makeReview({ object: withImage('echo-v2', 'echo:2.0') }),
    );
    expect(result.patch).toEqual([]);
  });

  it.each([
    [{ version: 'v7' }],
    [{ 'app.kubernetes.io/version': '7' }],
    [{ 'service.istio.io/canonical-revision': 'seven' }],
  ])('never touches a version label that is there: %o', async (labels) => {
    const result = await admit(
      imageTag(),
      makeReview({ object: withImage('echo-v2', 'echo:2.0', { app: 'echo', ...labels }) }),
    );
    expect(result.patch).toEqual([]);
    expect(result.allowed).toBe(true);
  });

  it('fills an empty version label', async () => {
    const result = await admit(
      imageTag(),
      makeReview({ object: withImage('echo', 'echo:2.0', { app: 'echo', version: '' }) }),
    );
    expect(result.patch).toEqual([
      { op: 'replace', path: '/spec/template/metadata/labels/version', value: '2.0' },
    ]);
    expect(result.allowed).toBe(true);
  });

  it('works together with the marker: one add each, then nothing on the second pass', async () => {
    const engine = workloadEngine({ mesh: 'istio', versionLabels: { default: 'image-tag' } });
    const result = await admit(engine, makeReview({ object: withImage('echo', 'echo:2.0') }));
    expect(result.patch.map((op) => op.path).sort()).toEqual([
      '/spec/template/metadata/labels/sidecar.istio.io~1inject',
      '/spec/template/metadata/labels/version',
    ]);
    expect(result.secondPatch).toEqual([]);
    expect(result.allowed).toBe(true);
  });
});
