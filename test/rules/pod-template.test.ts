import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  appFromName,
  firstLabel,
  isLabelValue,
  toLabelValue,
  versionFromImage,
  versionFromName,
} from '../../src/rules/pod-template.js';

describe('versionFromImage', () => {
  it.each([
    ['registry.istio.io/release/examples-bookinfo-details-v1:1.20.3', '1.20.3'],
    ['docker.io/curlimages/curl:8.16.0', '8.16.0'],
    ['nginx:1.27-alpine', '1.27-alpine'],
    ['localhost:5000/team/app:v2', 'v2'],
    // The tag wins over the digest when both are given.
    ['ghcr.io/app:1.2.3@sha256:' + 'ab'.repeat(32), '1.2.3'],
    // Tags may start or end with characters a label value may not.
    ['app:_1.7.', '1.7'],
    ['app:' + '1'.repeat(128), '1'.repeat(63)],
    ['app:1.0-' + '-'.repeat(70), '1.0'],
    // Release channels with a version, as Linkerd tags its images.
    ['cr.l5d.io/linkerd/proxy:edge-26.8.3', 'edge-26.8.3'],
    ['quay.io/jetstack/cert-manager-controller:v1.21.1', 'v1.21.1'],
  ])('%s gives %s', (image, want) => {
    expect(versionFromImage(image)).toBe(want);
  });

  it.each([
    // Tags that move with every push, or name a base image or a branch.
    'nginx:latest',
    'fortio/fortio:latest_release',
    'alpine:alpine',
    'ghcr.io/app:main',
    'ghcr.io/app:master',
    'ghcr.io/app:stable',
    'ghcr.io/app:edge',
    'ghcr.io/app:LATEST',
    // Digests and their fragments, and commit hashes, are no version a person can read.
    'ghcr.io/stefanprodan/podinfo@sha256:0123456789abcdef' + '0'.repeat(48),
    'localhost:5000/app@sha512:' + 'f'.repeat(128),
    'ghcr.io/app:sha256-0123456789ab',
    'ghcr.io/app:3f2a9c1d',
    'app:_build.7.',
    'app:' + 'x'.repeat(128),
    'nginx',
    'localhost:5000/app',
    '${COLOR_APP_IMAGE}',
    'app:',
    'app:___',
    '',
    'registry:5000/',
  ])('%s names no version', (image) => {
    expect(versionFromImage(image)).toBeUndefined();
  });

  it('always gives a valid label value, or nothing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (image) => {
        const v = versionFromImage(image);
        if (v !== undefined) expect(isLabelValue(v) && v !== '').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('versionFromName', () => {
  it.each([
    ['echo-v2', 'v2'],
    ['reviews-v1', 'v1'],
    ['bookstore-v2', 'v2'],
    ['api-v1.2', 'v1.2'],
    ['api-v2beta1', 'v2beta1'],
    ['api-1.2.3', '1.2.3'],
  ])('%s gives %s', (name, want) => {
    expect(versionFromName(name)).toBe(want);
  });

  it.each(['podinfo', 'podinfo-primary', 'redis-6', 'worker-2', 'v2', 'web-svc', 'app-v', 'app-'])(
    '%s has no version suffix',
    (name) => {
      expect(versionFromName(name)).toBeUndefined();
    },
  );

  it('strips the suffix for the app name', () => {
    expect(appFromName('reviews-v2')).toBe('reviews');
    expect(appFromName('podinfo')).toBe('podinfo');
  });
});

describe('label values', () => {
  it.each([
    ['1.20.3', true],
    ['', true],
    ['a', true],
    ['-a', false],
    ['a.', false],
    ['a b', false],
    ['x'.repeat(63), true],
    ['x'.repeat(64), false],
  ])('isLabelValue(%s) is %s', (value, want) => {
    expect(isLabelValue(value)).toBe(want);
  });

  it('toLabelValue makes any text valid or gives nothing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (text) => {
        const v = toLabelValue(text);
        if (v === undefined) expect(/[A-Za-z0-9]/.test(text.slice(0, 63))).toBe(false);
        else expect(isLabelValue(v) && v !== '').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('firstLabel takes the first key with a non-empty string', () => {
    const keys = ['version', 'app.kubernetes.io/version'];
    expect(firstLabel({ version: '', 'app.kubernetes.io/version': '2' }, keys)).toEqual({
      key: 'app.kubernetes.io/version',
      value: '2',
    });
    expect(firstLabel({ version: 1 }, keys)).toBeUndefined();
    expect(firstLabel(undefined, keys)).toBeUndefined();
    expect(firstLabel({ version: 'v1', 'app.kubernetes.io/version': 'v2' }, keys)?.value).toBe(
      'v1',
    );
  });
});
