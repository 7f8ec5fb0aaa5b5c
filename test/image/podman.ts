import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Everything the command prints also goes to this file (long builds). */
  readonly logFile?: string;
  /** A non-zero exit is returned instead of thrown. */
  readonly allowFailure?: boolean;
}

const TAIL = 6000;

/** Runs a command to its end; throws with the command and the end of its output on failure. */
export function run(command: string, args: readonly string[], options: RunOptions = {}) {
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = options.logFile === undefined ? undefined : createWriteStream(options.logFile);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      log?.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      log?.write(chunk);
    });
    child.on('error', (error) => {
      log?.end();
      reject(new Error(`cannot run ${command}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      log?.end();
      const result = { code: code ?? (signal === null ? -1 : 128), stdout, stderr };
      if (result.code === 0 || options.allowFailure) {
        resolve(result);
        return;
      }
      const output = (stdout + stderr).slice(-TAIL);
      reject(
        new Error(
          `${command} ${args.join(' ')} exited ${signal ?? result.code}` +
            (options.logFile ? ` (full log: ${options.logFile})` : '') +
            `:\n${output}`,
        ),
      );
    });
  });
}

/**
 * podman with a configuration and storage of its own under `dir`, so the image test changes
 * nothing in the machine's podman setup. runc instead of crun, no default ulimits and no pids
 * limit: crun's cgroup handling and those limits fail on the VMs CI runs on.
 */
export class Podman {
  readonly env: NodeJS.ProcessEnv;
  readonly logDir: string;

  constructor(readonly dir: string) {
    // Run-time state (locks, mount counts) belongs to one storage; /run keeps it off the cache.
    // Short: slirp4netns puts a socket named by the 64-digit container id in tmp_dir, and a
    // socket path must stay under 108 bytes.
    const id = createHash('sha256').update(dir).digest('hex').slice(0, 8);
    const run = `/run/mwimg-${id}`;
    for (const d of [dir, join(dir, 'storage'), join(dir, 'logs'), run])
      mkdirSync(d, { recursive: true });
    this.logDir = join(dir, 'logs');
    const files = {
      'containers.conf': [
        '[containers]',
        'default_ulimits = []',
        'pids_limit = 0',
        '[engine]',
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = "${run}/events.log"`,
        `tmp_dir = "${run}/libpod"`,
      ],
      'storage.conf': [
        '[storage]',
        'driver = "overlay"',
        `graphroot = "${join(dir, 'storage')}"`,
        `runroot = "${run}/storage"`,
      ],
      // No search registries and no short-name aliases: `FROM node:…` can only mean the local
      // stand-in (builds also pass --pull=never).
      'registries.conf': ['unqualified-search-registries = []', 'short-name-mode = "permissive"'],
    };
    for (const [name, lines] of Object.entries(files))
      writeFileSync(join(dir, name), `${lines.join('\n')}\n`);
    this.env = {
      ...process.env,
      CONTAINERS_CONF: join(dir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
      CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
    };
  }

  run(args: readonly string[], options: Omit<RunOptions, 'env'> = {}): Promise<RunResult> {
    return run('podman', args, { ...options, env: this.env });
  }

  /** The image's inspect record, or undefined when there is no such image. */
  async inspectImage(ref: string): Promise<ImageInspect | undefined> {
    const result = await this.run(['image', 'inspect', ref], { allowFailure: true });
    if (result.code !== 0) return undefined;
    return (JSON.parse(result.stdout) as ImageInspect[])[0];
  }

  /** Mounts the image read-only-ish on the host and runs `use` on its root; unmounts after. */
  async withImageMounted<T>(ref: string, use: (root: string) => Promise<T> | T): Promise<T> {
    const root = (await this.run(['image', 'mount', ref])).stdout.trim();
    try {
      return await use(root);
    } finally {
      await this.run(['image', 'unmount', ref], { allowFailure: true });
    }
  }
}

export interface ImageInspect {
  readonly Id: string;
  readonly Size: number;
  readonly Labels: Record<string, string> | null;
  readonly Config: {
    readonly User?: string;
    readonly Entrypoint?: string[];
    readonly Cmd?: string[];
    readonly Env?: string[];
    readonly ExposedPorts?: Record<string, unknown>;
    readonly WorkingDir?: string;
  };
}
