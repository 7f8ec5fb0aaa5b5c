import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, constants, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RULE_DESCRIPTIONS } from '../../src/cli/output-sarif.js';
import { defaultRules } from '../../src/rules/index.js';
import { runCli } from '../helpers/cli.js';
import { mixedInput } from '../helpers/review-input.js';

// The SARIF SDK's Multitool (Microsoft's reference validator) ships the SARIF 2.1.0 JSON schema
// beside its binary, in the package of this platform.
const PLATFORM =
  process.platform === 'win32' || process.platform === 'darwin' ? process.platform : 'linux';
const MULTITOOL_DIR = dirname(
  createRequire(import.meta.url).resolve(`@microsoft/sarif-multitool-${PLATFORM}/package.json`),
);
const SCHEMA = JSON.parse(readFileSync(join(MULTITOOL_DIR, 'sarif-2.1.0.json'), 'utf8'));
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(SCHEMA);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshwarden-sarif-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The Multitool's `validate`: schema errors (JSON...) and rule errors (SARIF...) it reports. */
async function multitoolErrors(sarif: string): Promise<string[]> {
  const bin = join(MULTITOOL_DIR, PLATFORM === 'win32' ? 'Sarif.Multitool.exe' : 'Sarif.Multitool');
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    // Its postinstall (chmod u+x) did not run, as with --ignore-scripts.
    chmodSync(bin, 0o755);
  }
  const file = join(dir, `log-${Math.random().toString(36).slice(2)}.sarif`);
  await writeFile(file, sarif);
  const out = execFileSync(bin, ['validate', file], {
    encoding: 'utf8',
    env: { ...process.env, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT: '1' },
    timeout: 60_000,
  });
  expect(out).toContain('1 files scanned');
  return out.split('\n').filter((l) => /: error /.test(l));
}

type Sarif = {
  runs: {
    tool: { driver: { name: string; version: string; rules: { id: string }[] } };
    invocations: {
      executionSuccessful: boolean;
      toolExecutionNotifications: { message: { text: string } }[];
    }[];
    results: {
      ruleId: string;
      ruleIndex: number;
      level: string;
      kind?: string;
      message: { text: string };
      locations: {
        physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } };
      }[];
    }[];
  }[];
};

describe('review -o sarif', () => {
  it('writes a SARIF 2.1.0 log that the schema and the SARIF Multitool accept', async () => {
    const input = await mixedInput(dir);
    const run = runCli(['review', '-f', input, '-o', 'sarif']);
    expect(run.status).toBe(2);
    const log = JSON.parse(run.stdout) as Sarif;
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    expect(await multitoolErrors(run.stdout)).toEqual([]);
    // The validator does catch a broken log: the same one without the tool's name.
    const broken = JSON.parse(run.stdout) as Sarif & { runs: { tool: { driver: object } }[] };
    delete (broken.runs[0]?.tool.driver as { name?: string }).name;
    expect(await multitoolErrors(JSON.stringify(broken))).toHaveLength(1);

    const [only] = log.runs;
    expect(only?.tool.driver.name).toBe('meshwarden');
    const results = only?.results ?? [];
    // The denial, at the line of the field it names (the pod template's labels).
    const denial = results.find((r) => r.ruleId === 'version-labels');
    expect(denial?.level).toBe('error');
    expect(denial?.message.text).toMatch(/^Deployment shop\/cart \(CREATE\): .*no version label/);
    expect(denial?.locations[0]?.physicalLocation.region?.startLine).toBe(11);
    expect(denial?.locations[0]?.physicalLocation.artifactLocation.uri).toBe(
      `file://${input}/apps.yaml`,
    );
    const input_ = results.find((r) => r.ruleId === 'input');
    expect(input_?.level).toBe('error');
    expect(input_?.locations[0]?.physicalLocation.artifactLocation.uri).toMatch(/zz-broken\.yaml$/);
    // Every result names a rule of the driver, by index too.
    const ids = only?.tool.driver.rules.map((r) => r.id) ?? [];
    for (const r of results) expect(ids[r.ruleIndex]).toBe(r.ruleId);
    expect(only?.invocations[0]?.executionSuccessful).toBe(false);
    expect(only?.invocations[0]?.toolExecutionNotifications.map((n) => n.message.text)).toEqual([
      'not a Kubernetes manifest (no apiVersion and kind)',
    ]);
  });

  it('gives relative paths as relative URIs, and a reason a rule let something pass as a pass result', () => {
    const run = runCli([
      'review',
      '-f',
      'examples/canary-gloo/vs-100-0.yaml',
      '--old',
      'examples/canary-gloo/vs-40-60.yaml',
      '-o',
      'sarif',
    ]);
    expect(run.status).toBe(0);
    const log = JSON.parse(run.stdout) as Sarif;
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    const pass = log.runs[0]?.results.find((r) => r.kind === 'pass');
    expect(pass?.level).toBe('none');
    expect(pass?.ruleId).toBe('weight-shift');
    expect(pass?.message.text).toMatch(/passed: rollback/);
    expect(pass?.locations[0]?.physicalLocation.artifactLocation.uri).toBe(
      'examples/canary-gloo/vs-100-0.yaml',
    );
    expect(log.runs[0]?.invocations[0]?.executionSuccessful).toBe(true);
  });

  it('describes every rule meshwarden runs', () => {
    const rules = defaultRules();
    for (const rule of [...rules.mutators, ...rules.validators])
      expect(RULE_DESCRIPTIONS[rule.name], rule.name).toBeDefined();
  });
});
