import { describe, expect, it } from 'vitest';
import { APP_LABEL_KEYS, VERSION_LABEL_KEYS } from '../../src/rules/pod-template.js';
import { deployment, makeReview } from '../helpers/reviews.js';
import { admit, setIn, workloadEngine } from '../helpers/workload-engine.js';

const sleep = () => deployment('sleep', { app: 'sleep' });

describe('version-labels validator', () => {
  it('allows a template with an app and a version label', async () => {
    const result = await admit(
      workloadEngine(),
      makeReview({ object: deployment('echo-v1', { app: 'echo', version: 'v1' }) }),
    );
    expect(result.allowed).toBe(true);
    expect(result.warnings).toEqual([]);
  });

  it.each(
    APP_LABEL_KEYS.flatMap((app) => VERSION_LABEL_KEYS.map((version) => [app, version] as const)),
  )('accepts %s with %s', async (app, version) => {
    const object = deployment('echo', { [app]: 'echo', [version]: '1.0' });
    expect((await admit(workloadEngine(), makeReview({ object }))).allowed).toBe(true);
  });

  it('denies a missing version label, naming the workload, the keys and the fix (enforce)', async () => {
    const result = await admit(workloadEngine(), makeReview({ object: sleep() }));
    expect(result.allowed).toBe(false);
    expect(result.validate.deniedBy).toBe('version-labels');
    const message = result.message!;
    expect(message).toContain('Deployment default/sleep has no version label on its pod template');
    for (const key of [...APP_LABEL_KEYS, ...VERSION_LABEL_KEYS]) expect(message).toContain(key);
    // The suggested value comes from the image tag (example.com/sleep:1.0.0).
    expect(message).toContain('Fix: add {version: "1.0.0"} under spec.template.metadata.labels');
    // On CREATE there is no running object to patch.
    expect(message).not.toContain('kubectl');
  });

  it('gives a kubectl patch for the running object on UPDATE', async () => {
    const result = await admit(
      workloadEngine(),
      makeReview({ object: sleep(), oldObject: sleep() }),
    );
    expect(result.allowed).toBe(false);
    const fix = result.message!.split('\n').find((l) => l.includes('kubectl'));
    expect(fix).toBe(
      `Or on the running object: kubectl -n default patch deployment sleep --type merge -p '{"spec":{"template":{"metadata":{"labels":{"version":"1.0.0"}}}}}'`,
    );
  });

  it('names both labels when both are missing, and suggests values for each', async () => {
    const object = deployment('reviews-v2', null);
    (object.spec.template.spec.containers[0] as { image: string }).image = 'nginx';
    const result = await admit(workloadEngine(), makeReview({ object }));
    expect(result.message).toContain('has no app and version labels');
    expect(result.message).toContain('Fix: add {app: "reviews", version: "v2"}');
  });

  it('names a missing app label alone', async () => {
    const object = deployment('echo', { version: 'v1' });
    const result = await admit(workloadEngine(), makeReview({ object }));
    expect(result.allowed).toBe(false);
    expect(result.message).toContain('has no app label');
    expect(result.message).toContain('Fix: add {app: "echo"}');
  });

  it('says when a label is there but empty, and counts it as missing', async () => {
    const result = await admit(
      workloadEngine(),
      makeReview({ object: deployment('echo', { app: 'echo', version: '' }) }),
    );
    expect(result.allowed).toBe(false);
    expect(result.message).toContain('version is empty');
  });

  it('says when a label value is not a string (unquoted YAML number), offline', async () => {
    const labels = ['spec', 'template', 'metadata', 'labels', 'version'];
    const object = setIn(deployment('echo', { app: 'echo' }), labels, 1.1);
    const result = await admit(workloadEngine(), makeReview({ object }));
    expect(result.allowed).toBe(false);
    expect(result.message).toContain('version is not a string (1.1): quote it');
  });

  it('warn allows with one warning of at most 120 characters', async () => {
    const engine = workloadEngine({ versionLabels: { enforcement: 'warn' } });
    const long = deployment(`a-very-long-workload-name-${'x'.repeat(200)}`, { app: 'x' });
    for (const object of [sleep(), long]) {
      const result = await admit(engine, makeReview({ object }));
      expect(result.allowed).toBe(true);
      expect(result.warnings).toHaveLength(1);
      expect(result.warnings[0]!.length).toBeLessThanOrEqual(120);
      expect(result.warnings[0]).toMatch(/^Deployment default\/(sleep|a-very)/);
    }
    const short = await admit(engine, makeReview({ object: sleep() }));
    expect(short.warnings[0]).toBe(
      'Deployment default/sleep: pod template needs a version label (spec.template.metadata.labels)',
    );
  });

  it('the spec-level enforcement is the default of the rule', async () => {
    const result = await admit(
      workloadEngine({ enforcement: 'warn' }),
      makeReview({ object: sleep() }),
    );
    expect(result.allowed).toBe(true);
    expect(result.warnings).toHaveLength(1);
  });

  it('audit allows and records an audit annotation', async () => {
    const result = await admit(
      workloadEngine({ versionLabels: { enforcement: 'audit' } }),
      makeReview({ object: sleep() }),
    );
    expect(result.allowed).toBe(true);
    expect(result.warnings).toEqual([]);
    expect(result.auditAnnotations['version-labels']).toContain(
      'Deployment default/sleep has no version label',
    );
  });

  it('checks nothing when versionLabels.required is false', async () => {
    const engine = workloadEngine({ versionLabels: { required: false } });
    const result = await admit(engine, makeReview({ object: deployment('x', null) }));
    expect(result.allowed).toBe(true);
    expect(result.warnings).toEqual([]);
    expect(result.auditAnnotations).toEqual({});
  });

  it('never blocks an object that is being deleted (finalizer removal)', async () => {
    const object = setIn(sleep(), ['metadata', 'deletionTimestamp'], '2026-01-01T00:00:00Z');
    const result = await admit(workloadEngine(), makeReview({ object, oldObject: sleep() }));
    expect(result.allowed).toBe(true);
  });

  describe('Flagger', () => {
    /** What Flagger creates from a target without a version label: `<target>-primary`, owned by the Canary. */
    function primary() {
      return setIn(
        deployment('podinfo-primary', { app: 'podinfo-primary' }),
        ['metadata', 'ownerReferences'],
        [
          {
            apiVersion: 'flagger.app/v1beta1',
            kind: 'Canary',
            name: 'podinfo',
            uid: 'u',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      );
    }

    const flaggerSa = {
      username: 'system:serviceaccount:flagger-system:flagger',
      groups: ['system:serviceaccounts'],
    };
    const canary = (target: string, uid = 'u') => ({
      apiVersion: 'flagger.app/v1beta1',
      kind: 'Canary',
      metadata: { name: 'podinfo', namespace: 'default', uid },
      spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target } },
    });

    it('never blocks the primary Deployment Flagger creates; records it instead', async () => {
      const e = workloadEngine({}, { canaries: [canary('podinfo')] });
      const result = await admit(e, makeReview({ object: primary(), user: flaggerSa }));
      expect(result.allowed).toBe(true);
      expect(result.auditAnnotations['version-labels']).toMatch(
        /Flagger-managed, allowed: Deployment default\/podinfo-primary/,
      );
      expect(result.validate.passed?.[0]?.reason).toContain(
        'trusted controller flagger flagger-system/flagger for Canary default/podinfo',
      );
    });

    it("never blocks Flagger's service account (scaling the target, promoting the primary)", async () => {
      const e = workloadEngine({}, { canaries: [canary('sleep')] });
      const result = await admit(
        e,
        makeReview({ object: sleep(), oldObject: sleep(), user: flaggerSa }),
      );
      expect(result.allowed).toBe(true);
    });

    // Issue 12: trust needs both the account and a verified Canary.
    it('blocks the same writes with a forged or unverified Canary, saying why', async () => {
      const cases: [
        string,
        ReturnType<typeof workloadEngine>,
        typeof flaggerSa | undefined,
        string,
      ][] = [
        [
          'no Canary known',
          workloadEngine(),
          flaggerSa,
          'named in its ownerReferences is not known',
        ],
        [
          'wrong uid',
          workloadEngine({}, { canaries: [canary('podinfo', 'other')] }),
          flaggerSa,
          'has uid u, but that Canary',
        ],
        [
          'Canary of another app',
          workloadEngine({}, { canaries: [canary('reviews')] }),
          flaggerSa,
          'acts on reviews and reviews-primary',
        ],
        [
          'a person',
          workloadEngine({}, { canaries: [canary('podinfo')] }),
          undefined,
          'is not a trusted Flagger account',
        ],
        [
          'flagger in another namespace',
          workloadEngine({}, { canaries: [canary('podinfo')] }),
          { username: 'system:serviceaccount:team-a:flagger', groups: [] },
          'add {kind: flagger, serviceAccount: team-a/flagger} to spec.weightShift.trustedControllers',
        ],
      ];
      for (const [name, e, user, reason] of cases) {
        const result = await admit(e, makeReview({ object: primary(), ...(user ? { user } : {}) }));
        expect(result.allowed, name).toBe(false);
        expect(result.validate.review.response?.status?.message, name).toContain(reason);
      }
    });

    it('passes a primary copied from a labelled target with no finding at all', async () => {
      const object = primary();
      setIn(object, ['spec', 'template', 'metadata', 'labels', 'version'], 'v1');
      const result = await admit(workloadEngine(), makeReview({ object }));
      expect(result.allowed).toBe(true);
      expect(result.auditAnnotations).toEqual({});
    });

    it('does not take other owners or look-alike users for Flagger', async () => {
      const object = setIn(
        sleep(),
        ['metadata', 'ownerReferences'],
        [{ apiVersion: 'example.com/v1', kind: 'Canary', name: 'x', uid: 'u' }],
      );
      expect((await admit(workloadEngine(), makeReview({ object }))).allowed).toBe(false);
      for (const username of [
        'system:serviceaccount:default:flagger-bot',
        'flagger',
        'system:serviceaccount:flagger',
      ]) {
        const user = { username };
        const result = await admit(workloadEngine(), makeReview({ object: sleep(), user }));
        expect(result.allowed, username).toBe(false);
      }
    });
  });
});
