import { beforeAll, describe, expect, it } from 'vitest';
import { parseServeFlags } from '../helpers/cli.js';
import {
  find,
  helmTemplate,
  PROFILES,
  render,
  requireHelm,
  type KubeObject,
  type RenderOptions,
} from './helm.js';
import { restrictedProblems } from './pod-security.js';

beforeAll(() => {
  requireHelm();
});

const KIND_VALUES = { valuesFiles: ['ci/network-policy-values.yaml'] } as const;

interface Peer {
  ipBlock?: { cidr: string; except?: string[] };
  namespaceSelector?: { matchLabels?: Record<string, string> };
  podSelector?: { matchLabels?: Record<string, string> };
}
interface IngressRule {
  ports?: { port: number; protocol?: string }[];
  from?: Peer[];
}
/** Where a connection comes from: an address outside the cluster, or a pod. */
type Source =
  | { ip: string }
  | { namespaceLabels: Record<string, string>; podLabels: Record<string, string>; ip: string };

function ipv4(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipv4(base) / size) * size;
  return ipv4(ip) >= start && ipv4(ip) < start + size;
}
const matches = (
  selector: { matchLabels?: Record<string, string> },
  labels: Record<string, string>,
) => Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

/**
 * NetworkPolicy semantics for one policy selecting the pod: is a TCP connection from `source` to
 * `port` admitted? An ipBlock matches addresses; selectors match pods (in the policy's namespace
 * when namespaceSelector is absent).
 */
function admits(
  policy: KubeObject,
  port: number,
  source: Source,
  policyNamespace: string,
): boolean {
  return (policy.spec.ingress as IngressRule[]).some((rule) => {
    const portOk =
      rule.ports === undefined ||
      rule.ports.some((p) => p.port === port && (p.protocol ?? 'TCP') === 'TCP');
    if (!portOk) return false;
    if (rule.from === undefined || rule.from.length === 0) return true;
    return rule.from.some((peer) => {
      if (peer.ipBlock)
        return (
          inCidr(source.ip, peer.ipBlock.cidr) &&
          !(peer.ipBlock.except ?? []).some((e) => inCidr(source.ip, e))
        );
      if (!('podLabels' in source)) return false;
      const nsOk = peer.namespaceSelector
        ? matches(peer.namespaceSelector, source.namespaceLabels)
        : source.namespaceLabels['kubernetes.io/metadata.name'] === policyNamespace;
      const podOk = peer.podSelector ? matches(peer.podSelector, source.podLabels) : true;
      return nsOk && podOk;
    });
  });
}

const pod = (namespace: string, labels: Record<string, string> = {}, ip = '10.244.1.7') => ({
  namespaceLabels: { 'kubernetes.io/metadata.name': namespace },
  podLabels: labels,
  ip,
});
const PROMETHEUS = pod('monitoring', { 'app.kubernetes.io/name': 'prometheus' });

describe('NetworkPolicy', () => {
  it.each(
    PROFILES.filter(
      (p) => !(p.options.valuesFiles ?? []).some((f) => f.includes('network-policy')),
    ),
  )('is absent unless asked for (profile $name)', ({ options }) => {
    expect(render(options).objects.filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
  });

  it('selects exactly the webhook pods and restricts only ingress', () => {
    const { objects } = render(KIND_VALUES);
    const policy = find(objects, 'NetworkPolicy');
    const deployment = find(objects, 'Deployment');
    expect(policy.spec.podSelector).toEqual({ matchLabels: deployment.spec.selector.matchLabels });
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    const job = find(objects, 'Job');
    expect(matches(policy.spec.podSelector, job.spec.template.metadata.labels)).toBe(false);
  });

  it('names the webhook port for the given CIDRs and the metrics port for the given peers, nothing more', () => {
    const policy = find(render(KIND_VALUES).objects, 'NetworkPolicy');
    expect(policy.spec.ingress).toEqual([
      { ports: [{ port: 8443, protocol: 'TCP' }], from: [{ ipBlock: { cidr: '172.18.0.0/16' } }] },
      {
        ports: [{ port: 9090, protocol: 'TCP' }],
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
            podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
          },
        ],
      },
    ]);
  });

  it('admits the API server on the webhook port and Prometheus on the metrics port, and nobody else', () => {
    const policy = find(render(KIND_VALUES).objects, 'NetworkPolicy');
    const ns = 'meshwarden-system';
    const apiServer = { ip: '172.18.0.2' };
    expect(admits(policy, 8443, apiServer, ns)).toBe(true);
    expect(admits(policy, 9090, apiServer, ns)).toBe(false);
    expect(admits(policy, 9090, PROMETHEUS, ns)).toBe(true);
    expect(admits(policy, 8443, PROMETHEUS, ns)).toBe(false);
    // A tenant pod, a pod in the release namespace, an address outside the CIDR, another port.
    for (const source of [
      pod('payments'),
      pod(ns),
      pod('monitoring'),
      { ip: '172.19.0.2' },
      { ip: '10.0.0.1' },
    ]) {
      for (const port of [8443, 9090])
        expect(admits(policy, port, source, ns), JSON.stringify([source, port])).toBe(false);
    }
    expect(admits(policy, 8080, apiServer, ns)).toBe(false);
    expect(admits(policy, 9091, PROMETHEUS, ns)).toBe(false);
  });

  it('follows containerPort and metrics.port, and takes peers of every kind', () => {
    const policy = find(
      render({
        values: [
          {
            containerPort: 10250,
            metrics: { port: 9464 },
            networkPolicy: {
              enabled: true,
              webhook: {
                cidrs: ['10.0.0.0/24', '10.0.1.0/24'],
                peers: [
                  {
                    namespaceSelector: {
                      matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' },
                    },
                    podSelector: { matchLabels: { 'k8s-app': 'konnectivity-agent' } },
                  },
                ],
              },
              metrics: { cidrs: ['192.168.0.0/16'] },
            },
          },
        ],
      }).objects,
      'NetworkPolicy',
    );
    const ns = 'meshwarden-system';
    const agent = pod('kube-system', { 'k8s-app': 'konnectivity-agent' });
    expect(admits(policy, 10250, agent, ns)).toBe(true);
    expect(admits(policy, 10250, { ip: '10.0.1.9' }, ns)).toBe(true);
    expect(admits(policy, 10250, pod('kube-system', { 'k8s-app': 'kube-dns' }), ns)).toBe(false);
    expect(admits(policy, 9464, { ip: '192.168.3.4' }, ns)).toBe(true);
    expect(admits(policy, 9464, agent, ns)).toBe(false);
    expect(admits(policy, 8443, { ip: '10.0.1.9' }, ns)).toBe(false);
    expect((policy.spec.ingress as IngressRule[]).map((r) => r.ports)).toEqual([
      [{ port: 10250, protocol: 'TCP' }],
      [{ port: 9464, protocol: 'TCP' }],
    ]);
  });

  it('closes the metrics port when no one is named for it', () => {
    const policy = find(
      render({ values: [{ networkPolicy: { enabled: true, webhook: { cidrs: ['10.0.0.0/8'] } } }] })
        .objects,
      'NetworkPolicy',
    );
    expect((policy.spec.ingress as IngressRule[]).map((r) => r.ports)).toEqual([
      [{ port: 8443, protocol: 'TCP' }],
    ]);
    expect(admits(policy, 9090, PROMETHEUS, 'meshwarden-system')).toBe(false);
  });

  it('refuses to shut the API server out: enabled with no webhook source is an error that says why', () => {
    const result = helmTemplate({
      values: [{ networkPolicy: { enabled: true, metrics: { peers: [{ podSelector: {} }] } } }],
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      'networkPolicy.enabled is true but networkPolicy.webhook.cidrs and networkPolicy.webhook.peers are both empty',
    );
    expect(result.stderr).toContain('docs/helm.md, NetworkPolicy: kind, EKS, GKE');
  });

  it.each([
    [
      { webhook: { cidrs: ['10.0.0.0'] } },
      'networkPolicy.webhook.cidrs.0',
      'Does not match pattern',
    ],
    [
      { webhook: { peers: [{ namespaceSelectr: {} }] } },
      'networkPolicy.webhook.peers.0',
      'Additional property namespaceSelectr is not allowed',
    ],
    [
      { webhook: { peers: [{}] } },
      'networkPolicy.webhook.peers.0',
      'Must have at least 1 properties',
    ],
  ])('the schema refuses %j, naming %s', (networkPolicy, key, message) => {
    const result = helmTemplate({
      values: [{ networkPolicy: { enabled: true, ...networkPolicy } }],
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`- ${key}: `);
    expect(result.stderr).toContain(message);
  });
});

describe('priority class', () => {
  const quota = (options: RenderOptions) =>
    render(options).objects.filter((o) => o.kind === 'ResourceQuota');

  it('is system-cluster-critical by default, with a quota scoped to that class that fits a rolling update', () => {
    const { objects } = render();
    expect(find(objects, 'Deployment').spec.template.spec.priorityClassName).toBe(
      'system-cluster-critical',
    );
    const q = find(objects, 'ResourceQuota');
    expect(q.metadata.name).toBe('meshwarden-critical-pods');
    expect(q.spec.scopeSelector).toEqual({
      matchExpressions: [
        { scopeName: 'PriorityClass', operator: 'In', values: ['system-cluster-critical'] },
      ],
    });
    // Only pods are limited, and only those of that class: nothing else in the namespace is counted.
    expect(Object.keys(q.spec.hard)).toEqual(['pods']);
    expect(Number(q.spec.hard.pods)).toBeGreaterThanOrEqual(
      find(objects, 'Deployment').spec.replicas + 1,
    );
  });

  it.each([
    [{ priorityClassName: '' }, undefined, []],
    [{ priorityClassName: 'platform-high' }, 'platform-high', []],
    [
      { priorityClassName: 'system-node-critical' },
      'system-node-critical',
      ['system-node-critical'],
    ],
    [{ priorityClassQuota: { enabled: false } }, 'system-cluster-critical', []],
  ])('%j: class %s, quota for %j', (values, expectedClass, quotaClasses) => {
    const options = { values: [values] };
    expect(find(render(options).objects, 'Deployment').spec.template.spec.priorityClassName).toBe(
      expectedClass,
    );
    expect(quota(options).map((q) => q.spec.scopeSelector.matchExpressions[0].values[0])).toEqual(
      quotaClasses,
    );
  });

  it('refuses a quota too small for replicaCount plus the surge pod', () => {
    const result = helmTemplate({ values: [{ replicaCount: 3, priorityClassQuota: { pods: 3 } }] });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      'priorityClassQuota.pods (3) must be at least replicaCount + 1 (4)',
    );
    expect(quota({ values: [{ replicaCount: 3, priorityClassQuota: { pods: 4 } }] })).toHaveLength(
      1,
    );
  });
});

describe('metrics port', () => {
  const container = (objects: KubeObject[]) =>
    find(objects, 'Deployment').spec.template.spec.containers[0];

  it.each([
    [{}, 9090],
    [{ metrics: { port: 9464 } }, 9464],
  ])('the flag, the containerPort and the Service port agree (%j)', async (values, port) => {
    const { objects } = render({ values: [values] });
    const c = container(objects);
    const flags = await parseServeFlags(c.args);
    expect(flags.metricsPort).toBe(String(port));
    expect(c.ports).toContainEqual({ name: 'metrics', containerPort: port, protocol: 'TCP' });
    expect(find(objects, 'Service').spec.ports).toContainEqual({
      name: 'metrics',
      port,
      targetPort: 'metrics',
      protocol: 'TCP',
    });
    // Probes stay on the HTTPS port.
    expect(c.readinessProbe.httpGet.port).toBe('https');
  });

  it('refuses the admission port as metrics port', () => {
    const result = helmTemplate({ values: [{ metrics: { port: 8443 } }] });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('metrics.port (8443) must differ from containerPort');
  });
});

describe('PodSecurity restricted', () => {
  it('the checker finds what restricted refuses', () => {
    expect(
      restrictedProblems({
        hostNetwork: true,
        volumes: [{ name: 'h', hostPath: { path: '/' } }],
        containers: [
          {
            name: 'a',
            securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'] } },
            ports: [{ hostPort: 80 }],
          },
        ],
      }),
    ).toEqual([
      'hostNetwork is true',
      'volume h is of type hostPath',
      'container a is privileged',
      'container a uses hostPort',
      'container a does not set allowPrivilegeEscalation: false',
      'container a does not run as non-root (runAsNonRoot)',
      'container a has no RuntimeDefault or Localhost seccompProfile',
      'container a does not drop ALL capabilities',
      'container a adds capability NET_ADMIN',
    ]);
  });

  describe.each(PROFILES)('profile $name', ({ options }) => {
    it('every pod the chart renders is admitted under pod-security.kubernetes.io/enforce=restricted', () => {
      const templates = render(options).objects.filter((o) => o.spec?.template?.spec);
      expect(templates.map((o) => o.kind).sort()).toEqual(['Deployment', 'Job']);
      for (const o of templates)
        expect(restrictedProblems(o.spec.template.spec), `${o.kind} ${o.metadata.name}`).toEqual(
          [],
        );
    });

    it('the webhook also runs with a read-only root filesystem and a non-root user id', () => {
      const spec = find(render(options).objects, 'Deployment').spec.template.spec;
      expect(spec.securityContext.runAsUser).toBeGreaterThan(0);
      for (const c of spec.containers) {
        expect(c.securityContext.readOnlyRootFilesystem, c.name).toBe(true);
        expect(c.securityContext.runAsNonRoot, c.name).toBe(true);
        expect(c.securityContext.seccompProfile, c.name).toEqual({ type: 'RuntimeDefault' });
      }
    });
  });
});
