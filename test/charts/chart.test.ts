import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  CHART,
  CI_PROFILES,
  find,
  helmTemplate,
  HELM_VERSION,
  helmUnavailableReason,
  isHook,
  KUBE_VERSIONS,
  lint,
  PROFILES,
  render,
  renderNotes,
  requireHelm,
  ROOT,
  runHelm,
  type KubeObject,
} from './helm.js';
import { CHECKED_BY_HAND, hasModel, schemaProblems, typeKey } from './k8s-schema.js';

beforeAll(() => {
  requireHelm();
});

describe('helm binary', () => {
  it('a machine that cannot run it gets a failure with the reason, not a silent pass', () => {
    expect(helmUnavailableReason('darwin', 'arm64')).toContain(
      'ships linux-x64 only; this machine is darwin-arm64',
    );
    expect(helmUnavailableReason('linux', 'x64', '/nonexistent/helm')).toContain(
      'helm binary not found at /nonexistent/helm: run npm ci',
    );
    expect(helmUnavailableReason()).toBeUndefined();
  });

  it(`is the pinned ${HELM_VERSION}`, () => {
    const { code, stdout } = runHelm(['version', '--short']);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(new RegExp(`^${HELM_VERSION.replaceAll('.', '\\.')}\\+`));
  });
});

describe('helm lint --strict', () => {
  it.each(['defaults', ...CI_PROFILES])('passes with %s', (profile) => {
    const result = lint(profile === 'defaults' ? {} : { valuesFiles: [profile] });
    expect(result.stderr + result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(result.code).toBe(0);
  });
});

describe('helm template', () => {
  describe.each(PROFILES)('profile $name', ({ options }) => {
    it.each(KUBE_VERSIONS)('renders on Kubernetes %s, every object schema-valid', (kubeVersion) => {
      const { objects } = render({ ...options, kubeVersion });
      expect(objects.length).toBeGreaterThan(10);
      for (const object of objects) {
        const key = typeKey(object);
        if (CHECKED_BY_HAND.has(key)) continue;
        expect(hasModel(object), `${key} has no offline schema`).toBe(true);
        expect(schemaProblems(object), `${key} ${object.metadata.name}`).toEqual([]);
      }
    });

    it('renders byte for byte the same twice (no generated certificate, nothing random)', () => {
      expect(helmTemplate(options).stdout).toBe(render(options).text);
    });

    it('names every object once, and namespaces every namespaced object', () => {
      const { objects } = render(options);
      const ids = objects.map(
        (o) => `${typeKey(o)} ${o.metadata.namespace ?? ''}/${o.metadata.name}`,
      );
      expect(new Set(ids).size).toBe(ids.length);
      const clusterScoped = new Set([
        'ClusterRole',
        'ClusterRoleBinding',
        'MutatingWebhookConfiguration',
        'ValidatingWebhookConfiguration',
      ]);
      const namespace = options.namespace ?? 'meshwarden-system';
      for (const o of objects) {
        if (clusterScoped.has(o.kind)) expect(o.metadata.namespace, o.kind).toBeUndefined();
        else expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(namespace);
      }
    });
  });

  it('refuses Kubernetes older than 1.25 with the reason', () => {
    const result = helmTemplate({ kubeVersion: '1.24.17' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('chart requires kubeVersion: >=1.25.0-0');
  });

  it('the validator map covers exactly the kinds not checked by hand', () => {
    const kinds = new Set(
      PROFILES.flatMap(({ options }) => render(options).objects.map((o) => typeKey(o))),
    );
    for (const kind of kinds)
      expect(hasModel({ ...dummy(kind) }) || CHECKED_BY_HAND.has(kind)).toBe(true);
    for (const kind of CHECKED_BY_HAND)
      expect(kinds.has(kind), `${kind} is rendered somewhere`).toBe(true);
  });
});

describe('offline schema check', () => {
  it('catches wrong types, missing fields and unknown fields at any depth', () => {
    const { objects } = render();
    const deployment = structuredClone(find(objects, 'Deployment'));
    expect(schemaProblems(deployment)).toEqual([]);
    deployment.spec.template.spec.containers[0].ports[0].containerPort = '8443';
    deployment.spec.template.spec.containers[0].securityContext.readOnlyRootFs = true;
    expect(schemaProblems(deployment)).toEqual([
      'data/spec/template/spec/containers/0/ports/0/containerPort must be integer',
      'Deployment.spec.template.spec.containers[0].securityContext.readOnlyRootFs is not a field of V1SecurityContext',
    ]);
    const webhooks = structuredClone(find(objects, 'ValidatingWebhookConfiguration'));
    webhooks.webhooks[1].matchConditions[0] = { name: 'x', expresion: 'true' };
    expect(schemaProblems(webhooks).join('\n')).toContain('must have required property expression');
    expect(schemaProblems(webhooks).join('\n')).toContain(
      'ValidatingWebhookConfiguration.webhooks[1].matchConditions[0].expresion is not a field',
    );
  });
});

function dummy(key: string): KubeObject {
  const slash = key.lastIndexOf('/');
  return { apiVersion: key.slice(0, slash), kind: key.slice(slash + 1), metadata: { name: 'x' } };
}

describe('Deployment', () => {
  const deployment = () => find(render().objects, 'Deployment');
  const container = (d: KubeObject) => d.spec.template.spec.containers[0];

  it('runs 2 replicas, surging rather than dropping one during rollouts', () => {
    const d = deployment();
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
  });

  it('runs `meshwarden serve` with exactly the flags the in-cluster controller reads', () => {
    const c = container(deployment());
    expect(c.command).toEqual(['node', 'dist/src/cli/main.js', 'serve']);
    expect(c.args).toEqual([
      '--port=8443',
      '--metrics-port=9090',
      '--cert=/etc/meshwarden/tls/tls.crt',
      '--key=/etc/meshwarden/tls/tls.key',
      '--in-cluster',
      '--install-namespace=meshwarden-system',
      '--service=meshwarden',
      '--tls-secret=meshwarden-tls',
      '--cert-mode=self-managed',
      '--mutating-webhook=meshwarden',
      '--validating-webhook=meshwarden',
      '--leader-lease=meshwarden-leader',
      '--controller-service-account=meshwarden-system/meshwarden',
      '--drain-seconds=10',
      '--mutate-on-timeout=allow',
      '--validate-on-timeout=deny',
    ]);
    expect(c.env).toEqual([
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'LOG_LEVEL', value: 'info' },
    ]);
  });

  it('names the objects the flags point at', () => {
    const { objects } = render({ release: 'mw', namespace: 'platform' });
    const args: string[] = container(find(objects, 'Deployment')).args;
    const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
    expect(flag('install-namespace')).toBe('platform');
    find(objects, 'Service', flag('service'));
    find(objects, 'MutatingWebhookConfiguration', flag('mutating-webhook'));
    find(objects, 'ValidatingWebhookConfiguration', flag('validating-webhook'));
    const volume = find(objects, 'Deployment').spec.template.spec.volumes.find(
      (v: { name: string }) => v.name === 'tls',
    );
    expect(volume.secret.secretName).toBe(flag('tls-secret'));
    const role = find(objects, 'Role');
    const leaseNames = role.rules.flatMap(
      (r: { resourceNames?: string[] }) => r.resourceNames ?? [],
    );
    expect(leaseNames).toContain(flag('leader-lease'));
  });

  it.each([
    [{ mutating: 'Ignore', validating: 'Fail' }, ['allow', 'deny']],
    [{ mutating: 'Fail', validating: 'Ignore' }, ['deny', 'allow']],
    [{ mutating: 'Fail', validating: 'Fail' }, ['deny', 'deny']],
    [{ mutating: 'Ignore', validating: 'Ignore' }, ['allow', 'allow']],
  ])('answers a timeout the way each failurePolicy would (%j)', (policies, [mutate, validate]) => {
    const { objects } = render({
      values: [
        {
          webhooks: {
            mutating: { failurePolicy: policies.mutating },
            validating: { failurePolicy: policies.validating },
          },
        },
      ],
    });
    const args: string[] = container(find(objects, 'Deployment')).args;
    expect(args).toContain(`--mutate-on-timeout=${mutate}`);
    expect(args).toContain(`--validate-on-timeout=${validate}`);
  });

  it('tells the controller who manages certificates', () => {
    const mode = (file?: string) =>
      container(find(render(file ? { valuesFiles: [file] } : {}).objects, 'Deployment')).args.find(
        (a: string) => a.startsWith('--cert-mode='),
      );
    expect(mode()).toBe('--cert-mode=self-managed');
    expect(mode('ci/cert-manager-values.yaml')).toBe('--cert-mode=external');
    expect(mode('ci/existing-secret-values.yaml')).toBe('--cert-mode=external');
  });

  it('probes /healthz and /readyz over HTTPS on the container port', () => {
    const c = container(deployment());
    expect(c.ports).toEqual([
      { name: 'https', containerPort: 8443, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
  });

  it('pauses before SIGTERM and gives the pod longer than pause plus drain', () => {
    const d = deployment();
    const c = container(d);
    expect(c.lifecycle.preStop.exec.command).toEqual(['sleep', '5']);
    expect(c.args).toContain('--drain-seconds=10');
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(5 + 10);
  });

  it('refuses a grace period that would cut the drain short', () => {
    const result = helmTemplate({
      values: [
        { shutdown: { preStopSeconds: 10, drainSeconds: 20, terminationGracePeriodSeconds: 30 } },
      ],
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      'shutdown.terminationGracePeriodSeconds (30) must be greater than shutdown.preStopSeconds + shutdown.drainSeconds (30)',
    );
  });

  it('is hardened: non-root, read-only root, no capabilities, RuntimeDefault seccomp', () => {
    const d = deployment();
    const pod = d.spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container(d).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('requests resources and sets no CPU limit', () => {
    const r = container(deployment()).resources;
    expect(r.requests).toEqual({ cpu: '100m', memory: '128Mi' });
    expect(r.limits).toEqual({ memory: '512Mi' });
    expect(r.limits.cpu).toBeUndefined();
  });

  it('mounts the TLS Secret optionally, read-only, at /etc/meshwarden/tls', () => {
    const pod = deployment().spec.template.spec;
    expect(pod.volumes.find((v: { name: string }) => v.name === 'tls')).toEqual({
      name: 'tls',
      secret: { secretName: 'meshwarden-tls', optional: true, defaultMode: 0o440 },
    });
    expect(container(deployment()).volumeMounts).toContainEqual({
      name: 'tls',
      mountPath: '/etc/meshwarden/tls',
      readOnly: true,
    });
    const existing = find(
      render({ valuesFiles: ['ci/existing-secret-values.yaml'] }).objects,
      'Deployment',
    );
    expect(existing.spec.template.spec.volumes[0].secret.secretName).toBe(
      'meshwarden-serving-cert',
    );
  });

  it('spreads replicas over nodes by default, and over zones too in the HA profile', () => {
    const keys = (d: KubeObject) =>
      d.spec.template.spec.topologySpreadConstraints.map(
        (t: { topologyKey: string }) => t.topologyKey,
      );
    expect(keys(deployment())).toEqual(['kubernetes.io/hostname']);
    const ha = find(render({ valuesFiles: ['ci/ha-values.yaml'] }).objects, 'Deployment');
    expect(ha.spec.replicas).toBe(3);
    expect(ha.spec.template.spec.priorityClassName).toBe('system-cluster-critical');
    expect(keys(ha)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const t of ha.spec.template.spec.topologySpreadConstraints) {
      expect(t.whenUnsatisfiable).toBe('DoNotSchedule');
      expect(t.labelSelector.matchLabels).toEqual(ha.spec.selector.matchLabels);
    }
  });

  it('runs at system-cluster-critical priority by default; an empty value sets none', () => {
    expect(deployment().spec.template.spec.priorityClassName).toBe('system-cluster-critical');
    const none = find(render({ values: [{ priorityClassName: '' }] }).objects, 'Deployment');
    expect(none.spec.template.spec.priorityClassName).toBeUndefined();
  });

  it('keeps every mesh sidecar injector away from its own pods', () => {
    const meta = deployment().spec.template.metadata;
    expect(meta.labels['sidecar.istio.io/inject']).toBe('false');
    expect(meta.labels['kuma.io/sidecar-injection']).toBe('disabled');
    expect(meta.annotations['linkerd.io/inject']).toBe('disabled');
    expect(meta.annotations['consul.hashicorp.com/connect-inject']).toBe('false');
    expect(meta.annotations['appmesh.k8s.aws/sidecarInjectorWebhook']).toBe('disabled');
    expect(meta.annotations['openservicemesh.io/sidecar-injection']).toBe('disabled');
  });

  it('uses the chart appVersion as image tag, and a digest when given', () => {
    const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'));
    expect(container(deployment()).image).toBe(`localhost/meshwarden:${chart.appVersion}`);
    const digest = `sha256:${'a'.repeat(64)}`;
    const pinned = find(render({ values: [{ image: { digest } }] }).objects, 'Deployment');
    expect(container(pinned).image).toBe(`localhost/meshwarden@${digest}`);
  });

  it('appVersion follows package.json', () => {
    const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(chart.appVersion).toBe(pkg.version);
  });
});

describe('Service and PodDisruptionBudget', () => {
  it('the Service sends 443 to the named container port and selects only webhook pods', () => {
    const { objects } = render();
    const service = find(objects, 'Service');
    expect(service.spec.ports).toEqual([
      { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' },
      { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    const selector: Record<string, string> = service.spec.selector;
    const matches = (labels: Record<string, string>) =>
      Object.entries(selector).every(([k, v]) => labels[k] === v);
    const podTemplates = objects.filter((o) => o.spec?.template?.metadata);
    const selected = podTemplates.filter((o) => matches(o.spec.template.metadata.labels));
    expect(selected.map((o) => o.kind)).toEqual(['Deployment']);
    expect(podTemplates.map((o) => o.kind)).toContain('Job');
  });

  it('the PodDisruptionBudget lets one replica go at a time and selects the webhook pods', () => {
    const { objects } = render();
    const pdb = find(objects, 'PodDisruptionBudget');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
    expect(pdb.spec.selector.matchLabels).toEqual(
      find(objects, 'Deployment').spec.selector.matchLabels,
    );
    expect(
      render({ values: [{ podDisruptionBudget: { enabled: false } }] }).objects.map((o) => o.kind),
    ).not.toContain('PodDisruptionBudget');
  });
});

describe('certificates', () => {
  it('self-managed renders no certificate, Secret or caBundle at all', () => {
    const { objects, text } = render();
    expect(objects.map((o) => o.kind)).not.toContain('Secret');
    expect(objects.map((o) => o.kind)).not.toContain('Certificate');
    expect(caBundles(objects)).toEqual([]);
    expect(text).not.toContain('BEGIN CERTIFICATE');
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      expect(find(objects, kind).metadata.annotations).toBeUndefined();
    }
  });

  it('cert-manager: a private CA chain signs the serving certificate for the Service names', () => {
    const { objects } = render({ valuesFiles: ['ci/cert-manager-values.yaml'] });
    const issuers = objects.filter((o) => o.kind === 'Issuer');
    expect(issuers.map((i) => [i.metadata.name, i.spec])).toEqual([
      ['meshwarden-selfsigned', { selfSigned: {} }],
      ['meshwarden-ca', { ca: { secretName: 'meshwarden-ca' } }],
    ]);
    const ca = find(objects, 'Certificate', 'meshwarden-ca');
    expect(ca.spec).toMatchObject({
      isCA: true,
      secretName: 'meshwarden-ca',
      issuerRef: { name: 'meshwarden-selfsigned', kind: 'Issuer', group: 'cert-manager.io' },
    });
    const serving = find(objects, 'Certificate', 'meshwarden');
    checkCertificate(serving);
    expect(serving.spec.issuerRef).toEqual({
      name: 'meshwarden-ca',
      kind: 'Issuer',
      group: 'cert-manager.io',
    });
    expect(caBundles(objects)).toEqual([]);
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      expect(find(objects, kind).metadata.annotations).toEqual({
        'cert-manager.io/inject-ca-from': 'meshwarden-system/meshwarden',
      });
    }
  });

  it('cert-manager with an existing ClusterIssuer creates no Issuer', () => {
    const { objects } = render({ valuesFiles: ['ci/cert-manager-issuer-values.yaml'] });
    expect(objects.filter((o) => o.kind === 'Issuer')).toEqual([]);
    const serving = find(objects, 'Certificate');
    checkCertificate(serving);
    expect(serving.spec.issuerRef).toEqual({
      name: 'platform-ca',
      kind: 'ClusterIssuer',
      group: 'cert-manager.io',
    });
    expect(serving.spec.duration).toBe('720h');
  });

  it('existing Secret: the caBundle from values, base64, in every webhook; no annotation', () => {
    const values = parse(readFileSync(join(CHART, 'ci/existing-secret-values.yaml'), 'utf8'));
    const pem: string = values.certificates.existingSecret.caBundle;
    const { objects } = render({ valuesFiles: ['ci/existing-secret-values.yaml'] });
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      const config = find(objects, kind);
      expect(config.metadata.annotations).toBeUndefined();
      for (const webhook of config.webhooks) {
        expect(Buffer.from(webhook.clientConfig.caBundle, 'base64').toString('utf8')).toBe(pem);
      }
    }
  });

  it('existing Secret without a name or CA is refused, naming the missing value', () => {
    const result = helmTemplate({ values: [{ certificates: { mode: 'existing-secret' } }] });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('certificates.existingSecret.name');
    expect(result.stderr).toContain('certificates.existingSecret.caBundle');
  });
});

/** Every clientConfig.caBundle in the webhook configurations, present or not. */
function caBundles(objects: readonly KubeObject[]): unknown[] {
  return objects
    .filter((o) => o.kind.endsWith('WebhookConfiguration'))
    .flatMap((o) => o.webhooks as { clientConfig: Record<string, unknown> }[])
    .filter((w) => 'caBundle' in w.clientConfig)
    .map((w) => w.clientConfig.caBundle);
}

/** cert-manager.io/v1 Certificate fields, checked by hand (no offline schema is installed). */
function checkCertificate(certificate: KubeObject): void {
  expect(Object.keys(certificate).sort()).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
  expect(Object.keys(certificate.spec).sort()).toEqual(
    [
      'dnsNames',
      'duration',
      'issuerRef',
      'privateKey',
      'renewBefore',
      'secretName',
      'usages',
    ].sort(),
  );
  expect(certificate.spec.secretName).toBe('meshwarden-tls');
  expect(certificate.spec.dnsNames).toEqual([
    'meshwarden',
    'meshwarden.meshwarden-system',
    'meshwarden.meshwarden-system.svc',
    'meshwarden.meshwarden-system.svc.cluster.local',
  ]);
  expect(certificate.spec.usages).toEqual(['server auth', 'digital signature', 'key encipherment']);
  expect(certificate.spec.privateKey).toEqual({
    algorithm: 'ECDSA',
    size: 256,
    rotationPolicy: 'Always',
  });
  for (const d of [certificate.spec.duration, certificate.spec.renewBefore])
    expect(d).toMatch(/^\d+h$/);
}

describe('uninstall', () => {
  it('a pre-delete hook deletes both webhook configurations before helm deletes the Service', () => {
    const { objects } = render();
    const hooks = objects.filter(isHook);
    expect(hooks.map((h) => h.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'Job',
      'ServiceAccount',
    ]);
    for (const h of hooks) {
      expect(h.metadata.annotations!['helm.sh/hook']).toBe('pre-delete');
      expect(h.metadata.annotations!['helm.sh/hook-delete-policy']).toBe(
        'before-hook-creation,hook-succeeded',
      );
    }
    const weight = (o: KubeObject) => Number(o.metadata.annotations!['helm.sh/hook-weight']);
    const job = find(hooks, 'Job');
    for (const h of hooks.filter((o) => o.kind !== 'Job'))
      expect(weight(h)).toBeLessThan(weight(job));

    const mutating = find(objects, 'MutatingWebhookConfiguration').metadata.name;
    const validating = find(objects, 'ValidatingWebhookConfiguration').metadata.name;
    const c = job.spec.template.spec.containers[0];
    expect(c.command).toEqual([
      'kubectl',
      'delete',
      `mutatingwebhookconfiguration/${mutating}`,
      `validatingwebhookconfiguration/${validating}`,
      '--ignore-not-found',
      '--wait=false',
    ]);
    expect(job.spec.template.spec.serviceAccountName).toBe(
      find(hooks, 'ServiceAccount').metadata.name,
    );
    expect(find(hooks, 'ClusterRole').rules).toEqual([
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
        resourceNames: [mutating],
        verbs: ['get', 'delete'],
      },
    ]);
    expect(job.spec.template.metadata.labels['sidecar.istio.io/inject']).toBe('false');
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(job.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  it('helm orders webhook configurations as unknown kinds: after the Service, which uninstall deletes first', () => {
    // Helm sorts kinds it knows by InstallOrder (and deletes by UninstallOrder, Service early);
    // unknown kinds go last in both. The rendered order shows which group the webhooks are in.
    const kinds = render()
      .objects.filter((o) => !isHook(o))
      .map((o) => o.kind);
    const last = kinds.slice(-2).sort();
    expect(last).toEqual(['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
    expect(kinds.indexOf('Service')).toBeLessThan(kinds.indexOf('MutatingWebhookConfiguration'));
  });

  it('the webhook configurations are ordinary release objects, not hooks (helm uninstall deletes them)', () => {
    const { objects } = render();
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      expect(isHook(find(objects, kind))).toBe(false);
    }
  });

  it('the controller cannot recreate a deleted webhook configuration (no create verb on them)', () => {
    const { objects } = render();
    const rules = objects
      .filter((o) => !isHook(o) && (o.kind === 'ClusterRole' || o.kind === 'Role'))
      .flatMap((o) => o.rules as { resources: string[]; verbs: string[] }[]);
    for (const rule of rules.filter((r) =>
      r.resources.some((x) => x.endsWith('webhookconfigurations')),
    )) {
      expect(rule.verbs).not.toContain('create');
      expect(rule.verbs).not.toContain('delete');
    }
  });

  it('can be turned off, and then NOTES.txt says what to delete by hand', () => {
    const off = render({ values: [{ uninstallCleanup: { enabled: false } }] });
    expect(off.objects.filter(isHook)).toEqual([]);
    expect(renderNotes()).not.toContain('uninstallCleanup is disabled');
    const notes = renderNotes({ values: [{ uninstallCleanup: { enabled: false } }] });
    expect(notes).toContain('WARNING: uninstallCleanup is disabled');
    expect(notes).toContain(
      'kubectl delete mutatingwebhookconfiguration/meshwarden validatingwebhookconfiguration/meshwarden',
    );
  });
});

describe('NOTES.txt', () => {
  it('says how to check the install: rollout, caBundle, a server dry run, the policy', () => {
    const notes = renderNotes();
    expect(notes).toContain('kubectl -n meshwarden-system rollout status deployment/meshwarden');
    expect(notes).toContain(
      'mutatingwebhookconfiguration/meshwarden validatingwebhookconfiguration/meshwarden',
    );
    expect(notes).toContain('written by the elected replica');
    expect(notes).toContain('--dry-run=server');
    expect(notes).toContain('get configmap meshwarden-policy');
    expect(notes).toContain(
      'Namespaces not reviewed: kube-system, kube-node-lease, meshwarden-system, kube-public,',
    );
    expect(notes).not.toContain('WARNING');
  });

  it('follows the certificate mode and warns about a single replica', () => {
    expect(renderNotes({ valuesFiles: ['ci/cert-manager-values.yaml'] })).toContain(
      'get certificate meshwarden',
    );
    expect(renderNotes({ values: [{ replicaCount: 1 }] })).toContain('WARNING: replicaCount is 1');
  });
});
