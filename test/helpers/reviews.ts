import { randomUUID } from 'node:crypto';

/** Builds an AdmissionReview as kube-apiserver sends it, for tests. */
export function makeReview(options: {
  object: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  apiVersion?: 'admission.k8s.io/v1' | 'admission.k8s.io/v1beta1';
  namespace?: string;
  user?: { username?: string; groups?: string[] };
  dryRun?: boolean;
  kind?: { group: string; version: string; kind: string };
}) {
  const object = options.object;
  const source = object ?? options.oldObject ?? {};
  const apiVersion = typeof source.apiVersion === 'string' ? source.apiVersion : 'v1';
  const slash = apiVersion.indexOf('/');
  const kind = options.kind ?? {
    group: slash === -1 ? '' : apiVersion.slice(0, slash),
    version: slash === -1 ? apiVersion : apiVersion.slice(slash + 1),
    kind: typeof source.kind === 'string' ? source.kind : '',
  };
  const metadata = (source.metadata ?? {}) as { name?: string; namespace?: string };
  const namespace = options.namespace ?? metadata.namespace ?? 'default';
  return {
    apiVersion: options.apiVersion ?? ('admission.k8s.io/v1' as const),
    kind: 'AdmissionReview' as const,
    request: {
      uid: randomUUID(),
      kind,
      resource: {
        group: kind.group,
        version: kind.version,
        resource: `${kind.kind.toLowerCase()}s`,
      },
      requestKind: kind,
      name: metadata.name ?? '',
      namespace,
      operation: options.operation ?? (options.oldObject ? 'UPDATE' : 'CREATE'),
      userInfo: options.user ?? { username: 'jane@example.com', groups: ['system:authenticated'] },
      object,
      oldObject: options.oldObject ?? null,
      dryRun: options.dryRun ?? false,
    },
  };
}

export function deployment(
  name: string,
  templateLabels?: Record<string, string> | null,
  extra: { namespace?: string; annotations?: Record<string, string> } = {},
) {
  const templateMetadata: Record<string, unknown> = {};
  if (templateLabels !== null && templateLabels !== undefined)
    templateMetadata.labels = templateLabels;
  if (extra.annotations) templateMetadata.annotations = extra.annotations;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: extra.namespace ?? 'default' },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: templateMetadata,
        spec: { containers: [{ name: 'app', image: `example.com/${name}:1.0.0` }] },
      },
    },
  };
}
