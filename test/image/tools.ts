import { run } from './podman.js';

/**
 * What the image test calls: podman (with buildah inside) to build and run, runc as its runtime,
 * mmdebstrap for the Debian root of the stand-in base, slirp4netns so the container's port is
 * published on 127.0.0.1 only, without a bridge or iptables rules on the host.
 */
export const PACKAGES = ['podman', 'runc', 'mmdebstrap', 'slirp4netns'] as const;

async function installed(pkg: string): Promise<boolean> {
  const result = await run('dpkg-query', ['-W', '-f=${Status}', pkg], { allowFailure: true });
  return result.code === 0 && result.stdout.includes('install ok installed');
}

/** Why this machine cannot run the image test, or undefined. */
export function unsupportedReason(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return `the stand-in base uses the linux-x64 Node binary; this machine is ${process.platform}-${process.arch}`;
  if (process.getuid?.() !== 0)
    return 'it installs packages with apt-get and runs rootful podman: run it as root (CI does)';
  return undefined;
}

/**
 * Installs the missing packages with apt-get (one `apt-get update`, only when something is
 * missing). Returns the packages it installed.
 */
export async function ensureTools(log: (line: string) => void): Promise<string[]> {
  const reason = unsupportedReason();
  if (reason !== undefined) throw new Error(`the image test cannot run here: ${reason}`);
  const missing: string[] = [];
  for (const pkg of PACKAGES) if (!(await installed(pkg))) missing.push(pkg);
  if (missing.length === 0) return [];
  log(`apt-get install ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], { env });
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env });
  return missing;
}
