import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { watchPolicyFile } from '../../src/policy/file-watcher.js';
import { MAX_POLICY_BYTES } from '../../src/policy/load.js';
import type { PolicySpec } from '../../src/policy/types.js';
import { recordingLogger, waitFor } from '../helpers/cluster.js';

const policy = (mesh: string, maxStepWeight: number) => `apiVersion: meshwarden.io/v1alpha1
kind: MeshPolicy
spec:
  fallbackMesh: ${mesh}
  weightShift:
    maxStepWeight: ${maxStepWeight}
`;

const count = async (counter: Metrics['policyReloads'], source: string) =>
  (await counter.get()).values.find((v) => v.labels.source === source)?.value ?? 0;

describe('watchPolicyFile', () => {
  let dir: string;
  let file: string;
  let metrics: Metrics;
  let lines: Record<string, unknown>[];
  let applied: PolicySpec[];
  let stop: () => void = () => {};

  // Replaced by rename, as kubelet does with a mounted ConfigMap: a new inode every time.
  const replace = async (text: string) => {
    const tmp = `${file}.${Math.random()}`;
    await writeFile(tmp, text);
    await rename(tmp, file);
  };

  const start = async () => {
    stop = watchPolicyFile(file, (spec) => applied.push(spec), {
      metrics,
      logger: recordingLogger(lines),
      pollMs: 10,
      settleMs: 0,
    });
    // Let the watcher take the stamp of the file as it stands.
    await new Promise((r) => setTimeout(r, 50));
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshwarden-watch-'));
    file = join(dir, 'policy.yaml');
    await writeFile(file, policy('istio', 20));
    metrics = createMetrics();
    lines = [];
    applied = [];
  });

  afterEach(async () => {
    stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies a changed file and counts the reload', async () => {
    await start();
    expect(applied).toEqual([]);
    await replace(policy('linkerd', 5));
    await waitFor(() => applied.length > 0, 'the reload');
    expect(applied).toHaveLength(1);
    expect(applied[0]?.fallbackMesh).toBe('linkerd');
    expect(applied[0]?.weightShift.maxStepWeight).toBe(5);
    expect(await count(metrics.policyReloads, file)).toBe(1);
    expect(await count(metrics.policyReloadErrors, file)).toBe(0);
  });

  it('keeps the last valid policy when the file turns invalid, and logs where', async () => {
    await start();
    await replace(policy('istio', 20).replace('maxStepWeight: 20', 'maxStepWeight: lots'));
    await waitFor(() => count(metrics.policyReloadErrors, file), 'the rejected reload');
    expect(applied).toEqual([]);
    const error = lines.find((l) => l.level === 50);
    expect(String(error?.msg)).toContain(file);
    expect(String(error?.msg)).toContain('last valid policy stays in force');

    await replace(policy('consul', 10));
    await waitFor(() => applied.length > 0, 'the reload after the fix');
    expect(applied.map((s) => s.fallbackMesh)).toEqual(['consul']);
  });

  it('counts a YAML alias bomb as a failed reload and says what it is', async () => {
    await start();
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...Array.from({ length: 8 }, (_, i) => {
        const prev = i === 0 ? 'a' : `l${i - 1}`;
        return `l${i}: &l${i} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`;
      }),
    ].join('\n');
    await replace(bomb);
    await waitFor(() => count(metrics.policyReloadErrors, file), 'the rejected reload');
    expect(applied).toEqual([]);
    const error = lines.find((l) => l.level === 50);
    expect(String(error?.msg)).toContain('YAML alias expansion limit exceeded');
  });

  it('refuses a policy file over the size limit without reading it, and counts it', async () => {
    await start();
    await replace(`${policy('linkerd', 5)}# ${'x'.repeat(MAX_POLICY_BYTES)}\n`);
    await waitFor(() => count(metrics.policyReloadErrors, file), 'the rejected reload');
    expect(applied).toEqual([]);
    expect(String(lines.find((l) => l.level === 50)?.msg)).toContain(
      `at most ${MAX_POLICY_BYTES} bytes`,
    );
  });

  it('stops watching when told to', async () => {
    await start();
    stop();
    await replace(policy('linkerd', 5));
    await new Promise((r) => setTimeout(r, 100));
    expect(applied).toEqual([]);
    expect(await count(metrics.policyReloads, file)).toBe(0);
  });
});
