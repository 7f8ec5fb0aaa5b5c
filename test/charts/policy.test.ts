import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { runPolicyCheck } from '../../src/cli/policy-command.js';
import { DEFAULT_POLICY_SPEC, resolveSpec } from '../../src/policy/defaults.js';
import { parsePolicyOrConfigMap, validatePolicyObject } from '../../src/policy/load.js';
import { policyDocumentSchema } from '../../src/policy/schema.js';
import {
  CHART,
  find,
  MESHES,
  PROFILES,
  render,
  requireHelm,
  ROOT,
  type KubeObject,
} from './helm.js';

beforeAll(() => {
  requireHelm();
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

function policyConfigMap(objects: readonly KubeObject[]): KubeObject {
  return find(objects, 'ConfigMap', 'meshwarden-policy');
}

/** Runs `meshwarden policy check -f FILE` in-process; returns its exit code and output. */
async function policyCheck(manifest: string): Promise<{ code: number; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-policy-'));
  const file = join(dir, 'policy-configmap.yaml');
  writeFileSync(file, manifest);
  let output = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    output += String(chunk);
    return true;
  });
  try {
    process.exitCode = undefined;
    await runPolicyCheck({ filename: file });
    return { code: Number(process.exitCode ?? 0), output: output.replaceAll(file, 'FILE') };
  } finally {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Drops `description` keys: the chart schema documents the policy, the project schema does not. */
function withoutDescriptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDescriptions);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== 'description')
        .map(([k, v]) => [k, withoutDescriptions(v)]),
    );
  }
  return value;
}

describe.each(PROFILES)('policy ConfigMap, profile $name', ({ options }) => {
  it('is meshwarden-policy in the release namespace with a MeshPolicy under policy.yaml', () => {
    const cm = policyConfigMap(render(options).objects);
    expect(cm.metadata.namespace).toBe(options.namespace ?? 'meshwarden-system');
    expect(Object.keys(cm.data)).toEqual(['policy.yaml']);
    expect(parse(cm.data['policy.yaml'])).toMatchObject({
      apiVersion: 'meshwarden.io/v1alpha1',
      kind: 'MeshPolicy',
    });
  });

  it('passes the project’s own policy validation (parsePolicyOrConfigMap)', () => {
    const result = parsePolicyOrConfigMap(stringify(policyConfigMap(render(options).objects)));
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it('passes `meshwarden policy check`', async () => {
    const { code, output } = await policyCheck(stringify(policyConfigMap(render(options).objects)));
    expect(output).toBe('FILE: valid MeshPolicy\n');
    expect(code).toBe(0);
  });
});

describe('policy values', () => {
  it.each(MESHES)('policy.mesh=%s reaches the rendered policy', (mesh) => {
    const cm = policyConfigMap(render({ values: [{ policy: { mesh } }] }).objects);
    const result = parsePolicyOrConfigMap(stringify(cm));
    expect(result.ok && result.policy.spec.mesh).toBe(mesh);
  });

  function renderedSpec(set: string[]) {
    const result = parsePolicyOrConfigMap(stringify(policyConfigMap(render({ set }).objects)));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    return result.policy.spec;
  }

  it('a value set through helm overrides one key and keeps the rest', () => {
    // maxTotalStepWeight is unset in values.yaml, so it follows maxStepWeight down to 10.
    expect(renderedSpec(['policy.weightShift.maxStepWeight=10'])).toEqual({
      ...DEFAULT_POLICY_SPEC,
      weightShift: {
        ...DEFAULT_POLICY_SPEC.weightShift,
        maxStepWeight: 10,
        maxTotalStepWeight: 10,
      },
    });
    expect(renderedSpec(['policy.weightShift.maxTotalStepWeight=40']).weightShift).toEqual({
      ...DEFAULT_POLICY_SPEC.weightShift,
      maxTotalStepWeight: 40,
    });
  });

  it('policy.enforcement=warn turns every rule to warn (rule-level keys are left to inherit)', () => {
    const spec = renderedSpec(['policy.enforcement=warn']);
    expect([
      spec.enforcement,
      spec.versionLabels.enforcement,
      spec.weightShift.enforcement,
    ]).toEqual(['warn', 'warn', 'warn']);
    const mixed = renderedSpec([
      'policy.enforcement=warn',
      'policy.weightShift.enforcement=enforce',
    ]);
    expect([mixed.versionLabels.enforcement, mixed.weightShift.enforcement]).toEqual([
      'warn',
      'enforce',
    ]);
  });

  it('the chart default is the project default (policies/default.yaml)', () => {
    const chartValues = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
    const defaultFile = parse(readFileSync(join(ROOT, 'policies/default.yaml'), 'utf8'));
    expect(resolveSpec(chartValues.policy)).toEqual(resolveSpec(defaultFile.spec));
    expect(resolveSpec(chartValues.policy)).toEqual(DEFAULT_POLICY_SPEC);
    // Key by key, except the rule-level enforcements the values leave to inherit.
    const { enforcement: _v, ...versionLabels } = defaultFile.spec.versionLabels;
    const { enforcement: _w, ...weightShift } = defaultFile.spec.weightShift;
    expect(chartValues.policy).toEqual({ ...defaultFile.spec, versionLabels, weightShift });
  });

  it('values.schema.json checks the policy exactly as the project schema does', () => {
    const chartSchema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
    expect(withoutDescriptions(chartSchema.properties.policy)).toEqual(
      withoutDescriptions(policyDocumentSchema.properties.spec),
    );
  });

  it('policy check is not vacuous: a broken rendered policy fails it with the key named', async () => {
    const cm = policyConfigMap(render().objects);
    cm.data['policy.yaml'] = cm.data['policy.yaml'].replace(
      'maxStepWeight: 20',
      'maxStepWeight: 0',
    );
    const { code, output } = await policyCheck(stringify(cm));
    expect(code).toBe(1);
    expect(output).toContain('spec.weightShift.maxStepWeight: must be at least 1; got 0');
    expect(validatePolicyObject(parse(cm.data['policy.yaml'])).ok).toBe(false);
  });
});
