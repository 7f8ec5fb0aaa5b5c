import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fieldLine } from '../../src/cli/field-line.js';
import { readManifests } from '../../src/cli/manifests.js';
import { parseDocument } from 'yaml';
import { runCli, scratchDir } from '../helpers/cli.js';

const scratch = scratchDir('meshwarden-manifests-');
const file = scratch.file;

const PROMETHEUS = 'global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: web\n';
const CLOUDFORMATION = `AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Ref Name
`;

describe('files that are not Kubernetes manifests', () => {
  it('skips YAML of other tools with a note, exit 0; --strict makes them errors, exit 2', async () => {
    const prometheus = await file('prometheus.yml', PROMETHEUS);
    const cfn = await file('template.yaml', CLOUDFORMATION);
    const run = runCli(['review', '-f', prometheus, cfn, 'examples/canary-smi/split-80-20.yaml']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain(
      `SKIPPED ${prometheus}:1  not a Kubernetes manifest (no apiVersion and kind)`,
    );
    expect(run.stdout).toContain('2 documents skipped: not Kubernetes manifests');
    expect(run.stdout.trimEnd()).toMatch(/1 object reviewed: 1 allowed, 0 denied$/);

    const strict = runCli(['review', '-f', prometheus, cfn, '--strict']);
    expect(strict.status).toBe(2);
    expect(strict.stderr).toContain(
      `error: ${prometheus}:1: document has no apiVersion and kind (not a Kubernetes object)`,
    );
  });

  it("reports the YAML parser's warnings with file and line, never as a bare Node warning", async () => {
    const cfn = await file('warned.yaml', CLOUDFORMATION);
    const run = runCli(['review', '-f', cfn]);
    expect(run.stderr).not.toMatch(/Warning|\(node:/);
    expect(run.stdout).toContain(`${cfn}:6: YAML: Unresolved tag: !Ref`);

    const manifest = await file(
      'tagged-service.yaml',
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels:\n    team: !Custom x\n',
    );
    const json = runCli(['review', '-f', manifest, '-o', 'json']);
    expect(json.stderr).toBe('');
    const [entry] = JSON.parse(json.stdout) as { warnings: string[] }[];
    expect(entry?.warnings).toEqual([`${manifest}:6: YAML: Unresolved tag: !Custom`]);
  });

  it.each([
    [
      'unquoted actions',
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ include "x.fullname" . }}\n',
    ],
    [
      'a control line',
      '{{- if .Values.enabled }}\napiVersion: v1\nkind: Service\nmetadata:\n  name: x\n{{- end }}\n',
    ],
    [
      'a quoted name',
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: "{{ .Release.Name }}-web"\n',
    ],
    ['a values file', 'replicas: {{ .Values.replicas }}\n'],
  ])('names an unrendered Helm template (%s), exit 2', async (_what, text) => {
    const path = await file('service.yaml', text);
    const run = runCli(['review', '-f', path]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(
      new RegExp(
        `^error: ${path}:\\d+: looks like a Helm template: render it with helm template first`,
      ),
    );
  });

  it('still reviews a rendered ConfigMap that holds Go templates of another tool', async () => {
    const path = await file(
      'alertmanager-templates.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: templates\ndata:\n  slack.tmpl: |\n    {{ define "slack.title" }}{{ range .Alerts }}{{ .Labels.alertname }}{{ end }}{{ end }}\n',
    );
    const run = runCli(['review', '-f', path]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('SKIPPED ConfigMap default/templates (CREATE)');
  });

  it.each([
    [
      'a misspelt key',
      'apiversion: v1\nkind: Service\nmetadata:\n  name: web\n',
      /has "apiversion"; Kubernetes spells it apiVersion/,
    ],
    [
      'metadata without a kind',
      'apiVersion: apps/v1\nmetadata:\n  name: web\nspec: {}\n',
      /has metadata but no kind/,
    ],
  ])(
    'refuses half a Kubernetes object (%s) rather than skip it, exit 2',
    async (_what, text, message) => {
      const path = await file('half.yaml', text);
      const run = runCli(['review', '-f', path]);
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(message);
    },
  );

  it('reads a Helm chart folder: Chart.yaml is skipped, its templates named', async () => {
    const chart = join(scratch.dir, 'chart');
    await import('node:fs/promises').then((fs) =>
      fs.mkdir(join(chart, 'templates'), { recursive: true }),
    );
    await writeFile(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: web\nversion: 0.1.0\n');
    await writeFile(join(chart, 'values.yaml'), 'replicas: 2\n');
    await writeFile(
      join(chart, 'templates', 'svc.yaml'),
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n',
    );
    const read = await readManifests([chart]);
    expect(read.objects).toEqual([]);
    expect(read.skipped.map((s) => s.reason)).toEqual([
      "not a Kubernetes manifest (a Helm chart's Chart.yaml)",
      'not a Kubernetes manifest (no apiVersion and kind)',
    ]);
    expect(read.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^looks like a Helm template/),
    ]);
  });
});

describe('fieldLine', () => {
  const doc = parseDocument(
    'metadata:\n  annotations:\n    meshwarden.io/stable-backends: "{}"\nspec:\n  http:\n    - route:\n        - destination: {host: a}\n',
  );
  const line = (field: string) => {
    const offset = fieldLine(doc.contents, field);
    return offset === undefined ? undefined : doc.toString().slice(0, offset).split('\n').length;
  };

  it('finds keys holding dots, list items, and the deepest part present', () => {
    expect(line('metadata.annotations.meshwarden.io/stable-backends')).toBe(3);
    expect(line('spec.http[0].route')).toBe(6);
    expect(line('spec.http[0].route[0].destination')).toBe(7);
    expect(line('spec.http[3].route')).toBe(5);
    expect(line('nothing.here')).toBeUndefined();
  });
});
