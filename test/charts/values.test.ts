import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isMap, isScalar, parse, parseDocument, type Node } from 'yaml';
import { CHART, helmTemplate, lint, requireHelm } from './helm.js';

const valuesText = readFileSync(join(CHART, 'values.yaml'), 'utf8');
const values = parse(valuesText) as Record<string, unknown>;
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));

interface SchemaNode {
  type?: string | string[];
  description?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
}

/** Dotted paths of every key in a values object, down to leaves and empty maps. */
function keyPaths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  const entries = Object.entries(value);
  if (entries.length === 0) return [prefix];
  return [
    ...(prefix.length > 0 ? [prefix] : []),
    ...entries.flatMap(([k, v]) => keyPaths(v, [...prefix, k])),
  ];
}

function schemaAt(path: readonly string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = schema;
  for (const key of path) {
    const next: SchemaNode | undefined = node?.properties?.[key];
    if (next === undefined) {
      // Free-form maps (resources, nodeSelector, ...) describe their entries as a whole.
      return typeof node?.additionalProperties === 'object' ? node : undefined;
    }
    node = next;
  }
  return node;
}

describe('values.yaml documentation', () => {
  /** Keys whose children are a standard Kubernetes structure documented as a whole. */
  const DOCUMENTED_AS_A_WHOLE = ['resources'];

  it('every knob has a comment saying what it does (helm-docs "# --" style)', () => {
    const doc = parseDocument(valuesText);
    const missing: string[] = [];
    const walk = (node: Node | null | undefined, path: string[]) => {
      if (!isMap(node)) return;
      node.items.forEach((pair, i) => {
        if (!isScalar(pair.key)) return;
        const keyPath = [...path, String(pair.key.value)];
        const isLeaf = !isMap(pair.value) || pair.value.items.length === 0;
        // The parser hangs the comment above a map's first key on the map itself.
        const comment = pair.key.commentBefore ?? (i === 0 ? node.commentBefore : undefined);
        const documented = (comment ?? '').split('\n').some((l) => l.trimStart().startsWith('-- '));
        if (isLeaf && !documented && !DOCUMENTED_AS_A_WHOLE.some((k) => keyPath.includes(k))) {
          missing.push(keyPath.join('.'));
        }
        if (DOCUMENTED_AS_A_WHOLE.includes(keyPath.at(-1)!) && !documented) {
          missing.push(keyPath.join('.'));
        }
        walk(pair.value as Node, keyPath);
      });
    };
    walk(doc.contents, []);
    expect(missing).toEqual([]);
  });

  it('values.schema.json describes every key of values.yaml', () => {
    const undescribed = keyPaths(values)
      .filter((path) => schemaAt(path)?.description === undefined)
      .map((p) => p.join('.'));
    expect(undescribed).toEqual([]);
  });

  it('every value the schema knows is in values.yaml, so nothing is undocumented', () => {
    const optional = new Set([
      'global',
      'certificates.certManager.issuerRef',
      // Left unset so they inherit policy.enforcement; values.yaml shows them commented out.
      'policy.versionLabels.enforcement',
      'policy.weightShift.enforcement',
      // Left unset so it follows policy.weightShift.maxStepWeight.
      'policy.weightShift.maxTotalStepWeight',
      // Left unset so it follows policy.weightShift.maxCanaryWeight.
      'policy.weightShift.maxTotalCanaryWeight',
    ]);
    const missing: string[] = [];
    const walk = (node: SchemaNode, path: string[], value: unknown) => {
      for (const [key, child] of Object.entries(node.properties ?? {})) {
        const childPath = [...path, key];
        if (optional.has(childPath.join('.'))) continue;
        const childValue = (value as Record<string, unknown> | undefined)?.[key];
        if (childValue === undefined) missing.push(childPath.join('.'));
        else walk(child, childPath, childValue);
      }
    };
    walk(schema, [], values);
    expect(missing).toEqual([]);
  });

  it('every object in the schema refuses unknown keys, except free-form maps', () => {
    const open: string[] = [];
    const walk = (node: SchemaNode, path: string[]) => {
      if (node.type === 'object' && node.properties && node.additionalProperties !== false) {
        open.push(path.join('.'));
      }
      for (const [key, child] of Object.entries(node.properties ?? {})) walk(child, [...path, key]);
    };
    walk(schema, []);
    expect(open).toEqual([]);
  });
});

describe('values.schema.json, enforced by helm', () => {
  beforeAll(() => {
    requireHelm();
  });

  it('the chart defaults pass it (helm lint --strict)', () => {
    expect(lint().code).toBe(0);
  });

  it.each([
    [
      { webhooks: { validating: { failurePolicy: 'Sometimes' } } },
      'webhooks.validating.failurePolicy',
      'must be one of the following: "Ignore", "Fail"',
    ],
    [
      { webhooks: { mutating: { failurePolicy: 'ignore' } } },
      'webhooks.mutating.failurePolicy',
      'must be one of the following',
    ],
    [
      { webhooks: { mutating: { timeoutSeconds: 0 } } },
      'webhooks.mutating.timeoutSeconds',
      'greater than or equal to 1',
    ],
    [
      { webhooks: { validating: { timeoutSeconds: 31 } } },
      'webhooks.validating.timeoutSeconds',
      'less than or equal to 30',
    ],
    [{ replicas: 3 }, '(root)', 'Additional property replicas is not allowed'],
    [{ replicaCount: 0 }, 'replicaCount', 'greater than or equal to 1'],
    [{ certificates: { mode: 'vault' } }, 'certificates.mode', 'must be one of the following'],
    [
      {
        certificates: {
          mode: 'existing-secret',
          existingSecret: { name: 'tls', caBundle: 'not a PEM' },
        },
      },
      'certificates.existingSecret.caBundle',
      'Does not match pattern',
    ],
    [
      { podDisruptionBudget: { maxUnavailable: 0 } },
      'podDisruptionBudget.maxUnavailable',
      'greater than or equal to 1',
    ],
    [
      { topologySpread: { whenUnsatisfiable: 'Never' } },
      'topologySpread.whenUnsatisfiable',
      'must be one of the following',
    ],
    [{ image: { digest: 'latest' } }, 'image.digest', 'Does not match pattern'],
    [{ extraArgs: ['debug'] }, 'extraArgs.0', 'Does not match pattern'],
    [{ containerPort: 443 }, 'containerPort', 'greater than or equal to 1024'],
    [{ policy: { mesh: 'cilium' } }, 'policy.mesh', 'must be one of the following'],
    [
      { policy: { weightShift: { maxStepWeight: 0 } } },
      'policy.weightShift.maxStepWeight',
      'greater than or equal to 1',
    ],
    [
      { policy: { weightShift: { maxStepWeigth: 10 } } },
      'policy.weightShift',
      'Additional property maxStepWeigth is not allowed',
    ],
    [{ policy: { enforcement: 'strict' } }, 'policy.enforcement', 'must be one of the following'],
    [
      { policy: { excludedNamespaces: ['Not_A_Namespace'] } },
      'policy.excludedNamespaces.0',
      'Does not match pattern',
    ],
  ])('refuses %j, naming %s', (bad, key, message) => {
    const result = helmTemplate({ values: [bad] });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("values don't meet the specifications of the schema");
    expect(result.stderr).toContain(`- ${key}: `);
    expect(result.stderr).toContain(message);
  });

  it('accepts every documented alternative', () => {
    for (const ok of [
      {
        webhooks: { mutating: { failurePolicy: 'Fail' }, validating: { failurePolicy: 'Ignore' } },
      },
      {
        certificates: {
          mode: 'cert-manager',
          certManager: { issuerRef: { name: 'ca', kind: 'ClusterIssuer' } },
        },
      },
      {
        policy: {
          enforcement: 'warn',
          namespaceOverrides: 'off',
          versionLabels: { default: 'image-tag' },
        },
      },
      {
        logLevel: 'debug',
        extraArgs: ['--some-future-flag=1'],
        topologySpread: { topologyKeys: [] },
      },
    ]) {
      const result = helmTemplate({ values: [ok] });
      expect(result.stderr, JSON.stringify(ok)).toBe('');
      expect(result.code).toBe(0);
    }
  });
});
