import { describe, expect, it } from 'vitest';
import { staticClusterView } from '../../src/admission/cluster-view.js';
import { decodeAdmissionReview, type DecodedReview } from '../../src/admission/decode.js';
import { AdmissionEngine, type EngineLogger } from '../../src/admission/engine.js';
import type { Mutator, RuleSet, Validator } from '../../src/admission/rule.js';
import type { KubeObject } from '../../src/k8s/objects.js';
import { resolveSpec } from '../../src/policy/defaults.js';
import { PolicyStore } from '../../src/policy/store.js';
import type { Enforcement, PolicySpecInput } from '../../src/policy/types.js';
import { contractProblems, decodePatch } from '../helpers/contract.js';
import { deployment, makeReview } from '../helpers/reviews.js';

const DEPLOYMENTS = [{ group: 'apps', kind: 'Deployment' }];

/** Adds a label to the pod template, as a real marker mutator would. */
const labelMutator: Mutator = {
  name: 'test-label',
  kinds: DEPLOYMENTS,
  operations: ['CREATE', 'UPDATE'],
  mutate(draft: KubeObject) {
    const spec = draft.spec as { template: { metadata: { labels?: Record<string, string> } } };
    spec.template.metadata.labels = {
      ...spec.template.metadata.labels,
      'sidecar.istio.io/inject': 'true',
    };
  },
};

function validatorFinding(
  name: string,
  enforcement: Enforcement,
  message = `${name} found a problem`,
): Validator {
  return {
    name,
    kinds: DEPLOYMENTS,
    operations: ['CREATE', 'UPDATE'],
    validate: () => ({ violations: [{ rule: name, field: 'spec', message, enforcement }] }),
  };
}

function engineWith(
  rules: Partial<RuleSet>,
  policy: PolicySpecInput = {},
  extra: { logger?: EngineLogger; labels?: Record<string, string> } = {},
) {
  return new AdmissionEngine({
    rules: { mutators: rules.mutators ?? [], validators: rules.validators ?? [] },
    policy: new PolicyStore(resolveSpec(policy)),
    cluster: staticClusterView(extra.labels ? { allNamespaceLabels: extra.labels } : {}),
    ...(extra.logger ? { logger: extra.logger } : {}),
  });
}

function decoded(review: ReturnType<typeof makeReview>): DecodedReview {
  const result = decodeAdmissionReview(review);
  if (!result.ok) throw new Error(result.message);
  return result.review;
}

describe('AdmissionEngine /mutate', () => {
  it('diffs the mutated copy into a patch that applies to the object as received', async () => {
    const review = makeReview({ object: deployment('web', { app: 'web' }) });
    const outcome = await engineWith({ mutators: [labelMutator] }).review(
      decoded(review),
      'mutate',
    );
    expect(contractProblems(review, outcome.review, 'mutate')).toEqual([]);
    expect(outcome.decision).toBe('patched');
    expect(decodePatch(outcome.review)).toEqual([
      { op: 'add', path: '/spec/template/metadata/labels/sidecar.istio.io~1inject', value: 'true' },
    ]);
    // The object as received is never changed in place.
    expect(review.request.object).toEqual(deployment('web', { app: 'web' }));
  });

  it('creates a missing labels map with the whole map, never an add into a missing parent', async () => {
    const review = makeReview({ object: deployment('web', null) });
    const outcome = await engineWith({ mutators: [labelMutator] }).review(
      decoded(review),
      'mutate',
    );
    expect(decodePatch(outcome.review)).toEqual([
      {
        op: 'add',
        path: '/spec/template/metadata/labels',
        value: { 'sidecar.istio.io/inject': 'true' },
      },
    ]);
    expect(contractProblems(review, outcome.review, 'mutate')).toEqual([]);
  });

  it('sends no patch and no patchType when nothing changes', async () => {
    const review = makeReview({ object: deployment('web', { 'sidecar.istio.io/inject': 'true' }) });
    const outcome = await engineWith({ mutators: [labelMutator] }).review(
      decoded(review),
      'mutate',
    );
    expect(outcome.review.response).toEqual({ uid: review.request.uid, allowed: true });
  });

  it.each(['DELETE', 'CONNECT'] as const)('never patches on %s', async (operation) => {
    const review = makeReview({ object: null, oldObject: deployment('web'), operation });
    const always: Mutator = {
      ...labelMutator,
      operations: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'],
    };
    const outcome = await engineWith({ mutators: [always] }).review(decoded(review), 'mutate');
    expect(outcome.review.response?.patch).toBeUndefined();
    expect(outcome.review.response?.allowed).toBe(true);
  });

  it('never sends a patch that fails verification: allows with a warning and logs it', async () => {
    const errors: unknown[] = [];
    const logger: EngineLogger = { info() {}, warn() {}, error: (obj) => errors.push(obj) };
    const engine = new AdmissionEngine({
      rules: { mutators: [labelMutator], validators: [] },
      policy: new PolicyStore(),
      logger,
      diff: () => ({
        ok: false,
        patch: [{ op: 'add', path: '/a/b', value: 1 }],
        error: 'path /a does not exist',
      }),
    });
    const review = makeReview({ object: deployment('web') });
    const outcome = await engine.review(decoded(review), 'mutate');
    expect(outcome.review.response?.patch).toBeUndefined();
    expect(outcome.review.response?.allowed).toBe(true);
    expect(outcome.review.response?.warnings?.[0]).toMatch(/patch did not apply/);
    expect(errors).toHaveLength(1);
    expect(contractProblems(review, outcome.review, 'mutate')).toEqual([]);
  });

  it('answers in the request apiVersion (v1beta1)', async () => {
    const review = makeReview({
      object: deployment('web'),
      apiVersion: 'admission.k8s.io/v1beta1',
    });
    const outcome = await engineWith({ mutators: [labelMutator] }).review(
      decoded(review),
      'mutate',
    );
    expect(outcome.review.apiVersion).toBe('admission.k8s.io/v1beta1');
    expect(contractProblems(review, outcome.review, 'mutate')).toEqual([]);
  });

  it('skips subresources and kinds no rule handles', async () => {
    const engine = engineWith({ mutators: [labelMutator] });
    const scale = makeReview({ object: deployment('web') });
    (scale.request as Record<string, unknown>).subResource = 'scale';
    expect((await engine.review(decoded(scale), 'mutate')).decision).toBe('allowed');
    const cm = makeReview({
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
    });
    expect((await engine.review(decoded(cm), 'mutate')).decision).toBe('allowed');
  });

  it('hands a subresource only to rules that name it', async () => {
    const statusRule: Validator = {
      ...validatorFinding('status-rule', 'enforce'),
      subResources: ['status'],
    };
    const engine = engineWith({ validators: [validatorFinding('plain', 'enforce'), statusRule] });
    const withSub = (subResource: string) => {
      const review = makeReview({ object: deployment('web') });
      (review.request as Record<string, unknown>).subResource = subResource;
      return decoded(review);
    };
    expect((await engine.review(withSub('status'), 'validate')).deniedBy).toBe('status-rule');
    expect((await engine.review(withSub('scale'), 'validate')).decision).toBe('allowed');
    const whole = await engine.review(
      decoded(makeReview({ object: deployment('web') })),
      'validate',
    );
    expect(whole.deniedBy).toBe('plain');
  });
});

describe('AdmissionEngine /validate', () => {
  it('denies with 403 Forbidden and the rule message when a rule enforces', async () => {
    const review = makeReview({ object: deployment('web') });
    const outcome = await engineWith({
      validators: [validatorFinding('a', 'enforce', 'Deployment web: fix it like so')],
    }).review(decoded(review), 'validate');
    expect(outcome.review.response).toMatchObject({
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: 'Deployment web: fix it like so' },
    });
    expect(contractProblems(review, outcome.review, 'validate')).toEqual([]);
  });

  it('first denial wins; warnings from earlier rules are kept', async () => {
    const calls: string[] = [];
    const spy = (v: Validator): Validator => ({
      ...v,
      validate: (o, c) => (calls.push(v.name), v.validate(o, c)),
    });
    const outcome = await engineWith({
      validators: [
        spy(validatorFinding('w', 'warn')),
        spy(validatorFinding('first', 'enforce')),
        spy(validatorFinding('second', 'enforce')),
      ],
    }).review(decoded(makeReview({ object: deployment('web') })), 'validate');
    expect(outcome.deniedBy).toBe('first');
    expect(outcome.review.response?.status?.message).toBe('first found a problem');
    expect(outcome.review.response?.warnings).toEqual(['w found a problem']);
    expect(calls).toEqual(['w', 'first']);
  });

  it('warn allows with warnings of at most 120 characters', async () => {
    const long = `Deployment web has no version label; ${'add it to spec.template.metadata.labels '.repeat(5)}`;
    const outcome = await engineWith({ validators: [validatorFinding('w', 'warn', long)] }).review(
      decoded(makeReview({ object: deployment('web') })),
      'validate',
    );
    expect(outcome.review.response?.allowed).toBe(true);
    const warning = outcome.review.response?.warnings?.[0] ?? '';
    expect(warning.length).toBeLessThanOrEqual(120);
    expect(warning.startsWith('Deployment web has no version label')).toBe(true);
  });

  it('audit allows, annotates and logs', async () => {
    const logged: object[] = [];
    const logger: EngineLogger = { info: (obj) => logged.push(obj), warn() {}, error() {} };
    const outcome = await engineWith(
      { validators: [validatorFinding('version-labels', 'audit')] },
      {},
      { logger },
    ).review(decoded(makeReview({ object: deployment('web') })), 'validate');
    expect(outcome.review.response).toMatchObject({
      allowed: true,
      auditAnnotations: { 'version-labels': 'version-labels found a problem' },
    });
    expect(outcome.review.response?.warnings).toBeUndefined();
    expect(logged).toContainEqual(
      expect.objectContaining({ rule: 'version-labels', audit: 'version-labels found a problem' }),
    );
  });

  it('never returns a patch', async () => {
    const outcome = await engineWith({ mutators: [labelMutator], validators: [] }).review(
      decoded(makeReview({ object: deployment('web') })),
      'validate',
    );
    expect(outcome.review.response?.patch).toBeUndefined();
  });

  it('gives dryRun the same decision', async () => {
    const engine = engineWith({ validators: [validatorFinding('a', 'enforce')] });
    const wet = await engine.review(decoded(makeReview({ object: deployment('web') })), 'validate');
    const dry = await engine.review(
      decoded(makeReview({ object: deployment('web'), dryRun: true })),
      'validate',
    );
    expect(dry.decision).toBe(wet.decision);
    expect(dry.review.response?.status).toEqual(wet.review.response?.status);
  });

  it('leaves excluded namespaces and opted-out namespaces alone, except rules that ignore exclusions', async () => {
    const always: Validator = {
      ...validatorFinding('own-config', 'enforce'),
      ignoresExclusions: true,
    };
    const normal = validatorFinding('normal', 'enforce');
    const excluded = await engineWith({ validators: [normal] }).review(
      decoded(makeReview({ object: deployment('x', {}, { namespace: 'kube-system' }) })),
      'validate',
    );
    expect(excluded.decision).toBe('allowed');
    const optedOut = await engineWith(
      { validators: [normal] },
      {},
      { labels: { 'meshwarden.io/enforce': 'disabled' } },
    ).review(decoded(makeReview({ object: deployment('x') })), 'validate');
    expect(optedOut.decision).toBe('allowed');
    const own = await engineWith(
      { validators: [normal, always] },
      {},
      { labels: { 'meshwarden.io/enforce': 'disabled' } },
    ).review(decoded(makeReview({ object: deployment('x') })), 'validate');
    expect(own.deniedBy).toBe('own-config');
  });
});

describe('RuleContext.memo', () => {
  it('computes once per review for the same object and key, and afresh in the next review', async () => {
    let computed = 0;
    const reader = (name: string): Validator => ({
      name,
      kinds: DEPLOYMENTS,
      operations: ['CREATE'],
      validate: (object, ctx) => {
        ctx.memo(object, 'shared', () => ++computed);
        ctx.memo(object, 'other', () => ++computed);
        return { violations: [] };
      },
    });
    const engine = engineWith({ validators: [reader('a'), reader('b')] });
    await engine.review(decoded(makeReview({ object: deployment('web') })), 'validate');
    expect(computed).toBe(2);
    await engine.review(decoded(makeReview({ object: deployment('web') })), 'validate');
    expect(computed).toBe(4);
  });
});

describe('AdmissionEngine deadlines and failures', () => {
  const slow: Validator = {
    name: 'slow',
    kinds: DEPLOYMENTS,
    operations: ['CREATE'],
    validate: () => new Promise(() => {}),
  };

  it('answers per the failure policy before the deadline when a rule hangs', async () => {
    const engine = new AdmissionEngine({
      rules: { mutators: [], validators: [slow] },
      policy: new PolicyStore(),
      onTimeout: { mutate: 'allow', validate: 'deny' },
    });
    const outcome = await engine.review(
      decoded(makeReview({ object: deployment('web') })),
      'validate',
      { timeoutMs: 20 },
    );
    expect(outcome.timedOut).toBe(true);
    expect(outcome.review.response?.allowed).toBe(false);
    expect(outcome.review.response?.status?.message).toContain('could not finish');
  });

  it('answers as the failure policy says when a rule throws, never with a crash', async () => {
    const throwing: Validator = {
      ...slow,
      validate: () => {
        throw new Error('boom');
      },
    };
    const engine = new AdmissionEngine({
      rules: { mutators: [], validators: [throwing] },
      policy: new PolicyStore(),
      onTimeout: { mutate: 'allow', validate: 'allow' },
    });
    const outcome = await engine.review(
      decoded(makeReview({ object: deployment('web') })),
      'validate',
    );
    expect(outcome.review.response?.allowed).toBe(true);
    expect(outcome.review.response?.warnings?.[0]).toContain('internal error');
  });
});

describe('decide', () => {
  const review = () => decoded(makeReview({ object: deployment('web') }));
  const later = <T>(value: T) => new Promise<T>((r) => setTimeout(() => r(value), 5));

  it('answers synchronously when every rule does, with the same outcome as review', async () => {
    const engine = engineWith({
      mutators: [labelMutator],
      validators: [validatorFinding('w', 'warn')],
    });
    for (const endpoint of ['mutate', 'validate'] as const) {
      const now = engine.decide(review(), endpoint, { timeoutMs: 1000 });
      expect(now).not.toBeInstanceOf(Promise);
      const { review: a, ...restA } = now as Exclude<typeof now, Promise<unknown>>;
      const { review: b, ...restB } = await engine.review(review(), endpoint, { timeoutMs: 1000 });
      expect({ ...a, response: { ...a.response, uid: '' } }).toEqual({
        ...b,
        response: { ...b.response, uid: '' },
      });
      expect(restA).toEqual(restB);
    }
  });

  it('goes on asynchronously from the first rule that returns a promise, in order', async () => {
    const order: string[] = [];
    const step = (name: string, wait: boolean): Validator => ({
      ...validatorFinding(name, 'warn'),
      validate: () => {
        order.push(name);
        const result = { violations: [] };
        return wait ? later(result) : result;
      },
    });
    const last = validatorFinding('last', 'enforce');
    const engine = engineWith({
      validators: [step('a', false), step('b', true), step('c', false), last],
    });
    const pending = engine.decide(review(), 'validate', { timeoutMs: 1000 });
    expect(pending).toBeInstanceOf(Promise);
    expect(order).toEqual(['a', 'b']);
    const outcome = await pending;
    expect(order).toEqual(['a', 'b', 'c']);
    expect(outcome.deniedBy).toBe('last');
  });

  it('applies the deadline to an asynchronous mutator and a rule that throws', async () => {
    const stuck: Mutator = { ...labelMutator, mutate: () => new Promise<void>(() => {}) };
    const late = await engineWith({ mutators: [labelMutator, stuck] }).decide(review(), 'mutate', {
      timeoutMs: 20,
    });
    expect(late).toMatchObject({ timedOut: true, decision: 'warned' });
    expect(late.patch).toEqual([]);
    const broken: Validator = {
      ...validatorFinding('broken', 'enforce'),
      validate: () => {
        throw new Error('bug');
      },
    };
    const failed = engineWith({ validators: [broken] }).decide(review(), 'validate');
    expect(failed).toMatchObject({ timedOut: true, decision: 'denied' });
  });
});
