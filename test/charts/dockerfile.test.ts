import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { find, render, requireHelm, ROOT } from './helm.js';

// The Dockerfile's text against package.json and the chart, quickly and on any machine: the
// three must agree on how meshwarden starts. test/image/image.test.ts (`npm run test:image`)
// builds the image and runs it.

interface Instruction {
  readonly op: string;
  /** Leading `--flag=value` options of RUN, COPY and the like (`--mount=type=secret,...`). */
  readonly flags: string[];
  readonly args: string;
}

interface Stage {
  readonly from: string;
  readonly name?: string;
  readonly instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  // Join continuation lines, drop comments and blank lines.
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const line of lines) {
    const [op = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: m![1]!, ...(m![2] ? { name: m![2] } : {}), instructions: [] });
    } else if (stages.length > 0) {
      const upper = op.toUpperCase();
      // COPY --from=... stays in args, as the assertions below read it.
      const flags = upper === 'RUN' ? (/^(?:--\S+\s+)*/.exec(args)?.[0] ?? '') : '';
      stages.at(-1)!.instructions.push({
        op: upper,
        flags: flags.split(/\s+/).filter((f) => f !== ''),
        args: args.slice(flags.length),
      });
    }
  }
  return stages;
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const final = stages.at(-1)!;
const instruction = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

describe('Dockerfile', () => {
  it('is multi-stage: build, production dependencies, runtime', () => {
    expect(stages.map((s) => s.name ?? 'runtime')).toEqual(['build', 'deps', 'runtime']);
    for (const s of stages) expect(s.from).toMatch(/^node:\$\{NODE_VERSION\}-bookworm-slim$/);
  });

  it('compiles with the package build command and installs only production dependencies for runtime', () => {
    const build = stages.find((s) => s.name === 'build')!;
    // The package's build also makes the CLI entry executable for npx; the image runs it with node.
    expect(pkg.scripts.build.split(' && ')[0]).toBe('tsc -p tsconfig.build.json');
    expect(instruction(build, 'RUN').map((i) => i.args)).toContain(
      'npx tsc -p tsconfig.build.json',
    );
    const deps = stages.find((s) => s.name === 'deps')!;
    expect(instruction(deps, 'RUN')[0]!.args).toMatch(/^npm ci --omit=dev --ignore-scripts\b/);
    const copies = instruction(final, 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=deps /app/node_modules ./node_modules');
    expect(copies).toContain('--from=build /app/dist/src ./dist/src');
    expect(copies.some((c) => c.includes('--from=build /app/node_modules'))).toBe(false);
  });

  it('gives both `npm ci` steps the npm settings as optional secrets, never as arguments or environment', () => {
    const npmCi = stages.flatMap((s) =>
      instruction(s, 'RUN').filter((i) => i.args.startsWith('npm ci')),
    );
    expect(npmCi).toHaveLength(2);
    for (const run of npmCi) {
      expect(run.flags).toEqual([
        '--mount=type=secret,id=npmrc,target=/root/.npmrc',
        '--mount=type=secret,id=npm-ca',
      ]);
    }
    for (const s of stages)
      for (const i of [...instruction(s, 'ARG'), ...instruction(s, 'ENV')])
        expect(i.args).not.toMatch(/npm|registry/i);
  });

  it('starts like `npm start`, with the chart’s certificate paths instead of development certificates', () => {
    const entrypoint = JSON.parse(instruction(final, 'ENTRYPOINT')[0]!.args);
    expect(entrypoint.join(' ')).toBe(pkg.scripts.start);
    expect(JSON.parse(instruction(final, 'CMD')[0]!.args)).toEqual([
      '--cert',
      '/etc/meshwarden/tls/tls.crt',
      '--key',
      '/etc/meshwarden/tls/tls.key',
    ]);
    expect(dockerfile).not.toMatch(/COPY\s+certs/);
  });

  it('runs as a numeric non-root user and exposes the HTTPS port', () => {
    expect(instruction(final, 'USER').map((i) => i.args)).toEqual(['1000:1000']);
    expect(instruction(final, 'EXPOSE').map((i) => i.args)).toEqual(['8443']);
    expect(instruction(final, 'ENV').map((i) => i.args)).toContain('NODE_ENV=production');
  });

  it('.dockerignore keeps local builds, dependencies, certificates and the repository out of the context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    for (const entry of ['.git', 'node_modules', 'dist', 'certs', 'test', 'charts']) {
      expect(ignored).toContain(entry);
    }
    for (const needed of ['src', 'package.json', 'package-lock.json', 'tsconfig.json']) {
      expect(ignored).not.toContain(needed);
    }
  });
});

describe('Dockerfile and chart agree', () => {
  beforeAll(() => {
    requireHelm();
  });

  it('same command, user, port and certificate paths', () => {
    const deployment = find(render().objects, 'Deployment');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(container.command).toEqual(JSON.parse(instruction(final, 'ENTRYPOINT')[0]!.args));
    expect(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`).toBe(
      instruction(final, 'USER')[0]!.args,
    );
    expect(String(container.ports[0].containerPort)).toBe(instruction(final, 'EXPOSE')[0]!.args);
    const cmd: string[] = JSON.parse(instruction(final, 'CMD')[0]!.args);
    expect(container.args).toContain(`--cert=${cmd[1]}`);
    expect(container.args).toContain(`--key=${cmd[3]}`);
  });
});
