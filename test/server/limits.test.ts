import { describe, expect, it } from 'vitest';
import { countWork, DEFAULT_WORK_LIMITS, workProblem } from '../../src/server/limits.js';

describe('countWork', () => {
  it("counts Knative's traffic entries and percents as routes and backends", () => {
    const service = {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      spec: {
        traffic: Array.from({ length: 1001 }, (_, i) => ({ revisionName: `r-${i}`, percent: 0 })),
      },
    };
    const count = countWork(service, 5000);
    expect(count).toEqual({ backends: 1001, routes: 1001 });
    expect(workProblem(count, DEFAULT_WORK_LIMITS)).toContain('more than 1000 weighted backends');
  });

  it('stops counting past stopAt', () => {
    const split = {
      spec: { backends: Array.from({ length: 50_000 }, () => ({ service: 's', weight: 1 })) },
    };
    expect(countWork(split, 10).backends).toBeLessThanOrEqual(11 + 1);
  });
});
