/**
 * The Pod Security Standards' `restricted` profile (version latest, Kubernetes 1.28+), checked on
 * a pod spec the way the PodSecurity admission plugin does: every check of `baseline`, plus the
 * restricted ones. Returns one line per problem; [] means a namespace labelled
 * pod-security.kubernetes.io/enforce=restricted admits the pod.
 */

// Rendered pod specs are read field by field; their shape is what is under test.
/* eslint-disable @typescript-eslint/no-explicit-any */

const RESTRICTED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);

export function restrictedProblems(spec: any): string[] {
  const problems: string[] = [];
  const pod = spec.securityContext ?? {};
  const containers: { kind: string; c: any }[] = [
    ...(spec.initContainers ?? []).map((c: any) => ({ kind: 'initContainer', c })),
    ...(spec.containers ?? []).map((c: any) => ({ kind: 'container', c })),
    ...(spec.ephemeralContainers ?? []).map((c: any) => ({ kind: 'ephemeralContainer', c })),
  ];
  const where = (kind: string, c: any) => `${kind} ${c.name as string}`;

  // baseline
  for (const host of ['hostNetwork', 'hostPID', 'hostIPC'])
    if (spec[host] === true) problems.push(`${host} is true`);
  for (const v of spec.volumes ?? []) {
    const types = Object.keys(v).filter((k) => k !== 'name');
    for (const t of types)
      if (!RESTRICTED_VOLUMES.has(t)) problems.push(`volume ${v.name as string} is of type ${t}`);
  }
  for (const s of pod.sysctls ?? [])
    if (!SAFE_SYSCTLS.has(s.name)) problems.push(`sysctl ${s.name as string} is not safe`);
  checkSeLinux(pod.seLinuxOptions, 'pod', problems);
  checkAppArmor(pod.appArmorProfile, 'pod', problems);
  if (pod.seccompProfile?.type === 'Unconfined') problems.push('pod seccompProfile is Unconfined');

  // restricted, pod level
  if (pod.runAsUser === 0) problems.push('pod runAsUser is 0');

  for (const { kind, c } of containers) {
    const sc = c.securityContext ?? {};
    const at = where(kind, c);
    if (sc.privileged === true) problems.push(`${at} is privileged`);
    for (const p of c.ports ?? [])
      if (p.hostPort !== undefined && p.hostPort !== 0) problems.push(`${at} uses hostPort`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default')
      problems.push(`${at} procMount is ${sc.procMount as string}`);
    checkSeLinux(sc.seLinuxOptions, at, problems);
    checkAppArmor(sc.appArmorProfile, at, problems);
    if (sc.seccompProfile?.type === 'Unconfined')
      problems.push(`${at} seccompProfile is Unconfined`);

    if (sc.allowPrivilegeEscalation !== false)
      problems.push(`${at} does not set allowPrivilegeEscalation: false`);
    const runAsNonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
    if (runAsNonRoot !== true) problems.push(`${at} does not run as non-root (runAsNonRoot)`);
    if (sc.runAsUser === 0) problems.push(`${at} runAsUser is 0`);
    const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      problems.push(`${at} has no RuntimeDefault or Localhost seccompProfile`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes('ALL')) problems.push(`${at} does not drop ALL capabilities`);
    for (const cap of sc.capabilities?.add ?? [])
      if (cap !== 'NET_BIND_SERVICE') problems.push(`${at} adds capability ${cap as string}`);
  }
  return problems;
}

function checkSeLinux(options: any, at: string, problems: string[]): void {
  if (options === undefined) return;
  if (!SELINUX_TYPES.has(options.type ?? ''))
    problems.push(`${at} seLinuxOptions.type is not allowed`);
  if (options.user !== undefined || options.role !== undefined)
    problems.push(`${at} sets seLinuxOptions user or role`);
}

function checkAppArmor(profile: any, at: string, problems: string[]): void {
  if (profile === undefined) return;
  if (profile.type !== 'RuntimeDefault' && profile.type !== 'Localhost')
    problems.push(`${at} appArmorProfile is ${profile.type as string}`);
}
