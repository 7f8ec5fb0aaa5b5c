import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../charts/helm.js';
import { run, type ImageInspect, type Podman } from './podman.js';

export interface BuiltImage {
  readonly ref: string;
  readonly inspect: ImageInspect;
  readonly seconds: number;
}

/**
 * Builds the repository's Dockerfile with podman. npm inside the build reaches the registry
 * this machine's npm uses: its URL (and its `cafile`, when it has one) go in as build secrets,
 * and the build shares the host's network.
 */
export async function buildImage(
  podman: Podman,
  root: string,
  ref: string,
  log: (line: string) => void,
): Promise<BuiltImage> {
  const started = Date.now();
  const npmConfig = async (key: string) =>
    (await run('npm', ['config', 'get', key], { cwd: root })).stdout.trim();
  const registry = await npmConfig('registry');
  const cafile = await npmConfig('cafile');
  const secrets = mkdtempSync(join(tmpdir(), 'meshwarden-image-secrets-'));
  try {
    const npmrc = [`registry=${registry}`, 'update-notifier=false', 'fund=false', 'audit=false'];
    const secretArgs = ['--secret', `id=npmrc,src=${join(secrets, 'npmrc')}`];
    if (cafile !== '' && cafile !== 'null' && existsSync(cafile)) {
      npmrc.push('cafile=/run/secrets/npm-ca');
      secretArgs.push('--secret', `id=npm-ca,src=${cafile}`);
    }
    writeFileSync(join(secrets, 'npmrc'), `${npmrc.join('\n')}\n`, { mode: 0o600 });
    log(`podman build -t ${ref} (log: ${join(podman.logDir, 'build.log')})`);
    await podman.run(
      [
        'build',
        '--runtime',
        'runc',
        '--network',
        'host',
        '--pull=never',
        '--layers',
        ...secretArgs,
        '--file',
        join(root, 'Dockerfile'),
        '--tag',
        ref,
        root,
      ],
      { logFile: join(podman.logDir, 'build.log') },
    );
  } finally {
    rmSync(secrets, { recursive: true, force: true });
  }
  // Layers of earlier builds nothing refers to any more; a week's worth stays as build cache.
  await podman.run(['image', 'prune', '--force', '--filter', 'until=168h'], { allowFailure: true });
  const inspect = await podman.inspectImage(ref);
  if (inspect === undefined) throw new Error(`podman build did not tag ${ref}`);
  return { ref, inspect, seconds: (Date.now() - started) / 1000 };
}

/** Flags of the chart's container that need a cluster; everything else is passed as rendered. */
export const CLUSTER_ONLY_FLAGS = ['--in-cluster', '--cert-mode'];

export interface ChartRun {
  /** `podman run` options that reproduce the pod's security context, mounts and env. */
  readonly options: string[];
  readonly entrypoint: string[];
  readonly args: string[];
  readonly containerPort: number;
  readonly tlsMount: string;
  /** Owner group and mode of the files of the TLS Secret volume (fsGroup, defaultMode). */
  readonly tlsGroup: number;
  readonly tlsMode: number;
}

/**
 * How the chart's Deployment runs the image, as `podman run` options: user and group, fsGroup,
 * read-only root, no capabilities, no privilege escalation, the TLS Secret read-only, /tmp as a
 * small tmpfs, the env. A pod field this does not know how to reproduce is an error, so the
 * test cannot silently run the image more loosely than the chart does.
 */
export function chartRun(deployment: KubeObject, drainSeconds: number): ChartRun {
  const pod = deployment.spec.template.spec;
  const [container, ...more] = pod.containers;
  if (more.length > 0 || pod.initContainers) throw new Error('the pod has more than one container');
  const sc = pod.securityContext;
  const csc = container.securityContext;
  const options: string[] = [`--user=${sc.runAsUser}:${sc.runAsGroup}`];
  if (sc.fsGroup !== undefined) options.push(`--group-add=${sc.fsGroup}`);
  if (csc.readOnlyRootFilesystem === true) options.push('--read-only', '--read-only-tmpfs=false');
  if (csc.allowPrivilegeEscalation === false) options.push('--security-opt=no-new-privileges');
  for (const cap of csc.capabilities?.drop ?? []) options.push(`--cap-drop=${cap}`);
  for (const cap of csc.capabilities?.add ?? []) options.push(`--cap-add=${cap}`);
  if (csc.runAsUser !== undefined || csc.privileged)
    throw new Error('container-level runAsUser/privileged are not reproduced');
  let tls: { mount: string; mode: number } | undefined;
  for (const mount of container.volumeMounts) {
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    if (volume?.secret && mount.readOnly === true) {
      tls = { mount: mount.mountPath, mode: volume.secret.defaultMode ?? 0o644 };
    } else if (volume?.emptyDir) {
      const size = /^(\d+)Mi$/.exec(volume.emptyDir.sizeLimit ?? '');
      if (!size) throw new Error(`emptyDir ${mount.name}: sizeLimit ${volume.emptyDir.sizeLimit}`);
      options.push(`--tmpfs=${mount.mountPath}:rw,size=${size[1]}m,mode=1777`);
    } else {
      throw new Error(`volume ${mount.name} is neither a read-only Secret nor an emptyDir`);
    }
  }
  if (tls === undefined) throw new Error('the chart mounts no TLS Secret');
  for (const env of container.env ?? []) {
    const field = env.valueFrom?.fieldRef?.fieldPath;
    const value =
      env.value ??
      (field === 'metadata.namespace'
        ? deployment.metadata.namespace
        : field === 'metadata.name'
          ? `${deployment.metadata.name}-image-test`
          : undefined);
    if (value === undefined) throw new Error(`env ${env.name}: cannot reproduce its source`);
    options.push(`--env=${env.name}=${value}`);
  }
  const args = (container.args as string[])
    .filter((a) => !CLUSTER_ONLY_FLAGS.some((f) => a === f || a.startsWith(`${f}=`)))
    .map((a) => (a.startsWith('--drain-seconds=') ? `--drain-seconds=${drainSeconds}` : a));
  return {
    options,
    entrypoint: container.command,
    args,
    containerPort: container.ports[0].containerPort,
    tlsMount: tls.mount,
    tlsGroup: sc.fsGroup ?? 0,
    tlsMode: tls.mode,
  };
}
