import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parse } from 'test-results-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatJunit } from '../../src/cli/output-junit.js';
import type { ReviewResult } from '../../src/cli/review.js';
import { runCli } from '../helpers/cli.js';
import { mixedInput } from '../helpers/review-input.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshwarden-junit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Reads a JUnit file the way CI reporters do (test-results-parser, as testbeats uses it). */
async function asCiReads(xml: string) {
  expect(XMLValidator.validate(xml)).toBe(true);
  const path = join(dir, `report-${Math.random().toString(36).slice(2)}.xml`);
  await writeFile(path, xml);
  return parse({ type: 'junit', files: [path] });
}

describe('review -o junit', () => {
  it('gives a JUnit report CI tools read: a failure per denial, an error per unreadable file, skips', async () => {
    const input = await mixedInput(dir);
    const run = runCli(['review', '-f', input, '-o', 'junit']);
    expect(run.status).toBe(2);
    expect(run.stdout.split('\n')[0]).toBe('<?xml version="1.0" encoding="UTF-8"?>');
    const report = await asCiReads(run.stdout);
    const cases = report.suites.flatMap((s) => s.cases);
    const status = (name: RegExp) => cases.find((c) => name.test(c.name))?.status;
    expect(status(/^Deployment shop\/cart \(CREATE\)/)).toBe('FAIL');
    expect(cases.find((c) => c.name.startsWith('Deployment shop/cart'))?.failure).toMatch(
      /has no version label/,
    );
    expect(status(/^Deployment shop\/web \(CREATE\)/)).toBe('PASS');
    expect(status(/^Service shop\/web/)).toBe('SKIP');
    expect(status(/^document at .*prometheus\.yml:1$/)).toBe('SKIP');
    expect(status(/^input .*zz-broken\.yaml:\d+$/)).toBe('FAIL');
    // One suite per file, named by it; the totals agree with the cases.
    expect(report.suites.map((s) => s.name.replace(`${input}/`, ''))).toEqual([
      'apps.yaml',
      'prometheus.yml',
      'zz-broken.yaml',
    ]);
    expect(cases).toHaveLength(5);
    expect(report.failed + report.errors).toBe(2);
    expect(report.skipped).toBe(2);
  });

  it('reports an all-allowed run as passing, exit 0', async () => {
    const run = runCli(['review', '-f', 'examples/canary-smi/split-80-20.yaml', '-o', 'junit']);
    expect(run.status).toBe(0);
    const report = await asCiReads(run.stdout);
    expect(report.status).toBe('PASS');
    expect(report.suites[0]?.cases[0]?.name).toBe(
      'TrafficSplit echo/echo (CREATE) examples/canary-smi/split-80-20.yaml:2',
    );
  });

  it('escapes what XML cannot hold as it is, and the text reads back unchanged', () => {
    const message = 'a <b> & "c" \'d\' ]]> e\nsecond line\u0007';
    const result: ReviewResult = {
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      namespace: 'x',
      name: 'y',
      operation: 'CREATE',
      allowed: false,
      message,
      warnings: ['w <1>'],
      patch: [],
      result: 'denied',
      reason: 'denied by version-labels',
      audit: {},
      passed: [],
      violations: [],
      source: 'dir with space/&.yaml:3',
    };
    const xml = formatJunit({ results: [result], errors: [], skipped: [] });
    expect(XMLValidator.validate(xml)).toBe(true);
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
    const tc = parsed.testsuites.testsuite.testcase;
    expect(parsed.testsuites.testsuite.name).toBe('dir with space/&.yaml');
    expect(tc.failure['#text']).toBe(message.replace('\u0007', '\uFFFD'));
    expect(tc.failure.message).toBe('a <b> & "c" \'d\' ]]> e');
    expect(tc.failure.type).toBe('version-labels');
    expect(tc['system-out']).toBe('warning: w <1>');
  });
});
