import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HELP_EXAMPLES } from '../../src/cli/help-examples.js';
import { MESH_IDS } from '../../src/mesh/ids.js';
import { runCli } from '../helpers/cli.js';

const COMMANDS = ['serve', 'review', 'translate', 'certs', 'policy', 'policy check'];

describe('meshwarden --version and --help', () => {
  it('--version prints the package version, exit 0', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = runCli([flag]);
      expect(run.status).toBe(0);
      expect(run.stdout).toBe(`${pkg.version}\n`);
    }
  });

  it.each(['', ...COMMANDS])('help of "%s" ends with examples', (command) => {
    const run = runCli([...command.split(' ').filter((w) => w !== ''), '--help']);
    expect(run.status).toBe(0);
    const examples = run.stdout.slice(run.stdout.indexOf('\nExamples:\n'));
    expect(examples).toMatch(/^\nExamples:\n {2}\$ (PORT=\d+ )?meshwarden /);
    const key = command === '' ? 'meshwarden' : command === 'policy' ? 'policy check' : command;
    for (const e of HELP_EXAMPLES[key] ?? []) expect(examples).toContain(`$ ${e.line}`);
  });

  it('review --help lists the meshes --mesh takes, from the mesh registry', () => {
    const run = runCli(['review', '--help']);
    expect(run.stdout.replace(/\s+/g, ' ')).toContain(
      `(choices: ${MESH_IDS.map((m) => `"${m}"`).join(', ')})`,
    );
    const bad = runCli(['review', '-f', 'examples/canary-smi/split-80-20.yaml', '--mesh', 'nope']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(`Allowed choices are ${MESH_IDS.join(', ')}`);
  });

  const offline = Object.values(HELP_EXAMPLES)
    .flat()
    .filter((e) => e.offline !== undefined);

  it.each(offline)('the help example "$line" runs offline with its exit code', (example) => {
    const [program, ...args] = example.line.split(' ');
    expect(program).toBe('meshwarden');
    const run = runCli(args);
    expect(run.status, run.stdout + run.stderr).toBe(example.offline?.exit);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
