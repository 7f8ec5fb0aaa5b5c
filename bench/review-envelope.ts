/** The AdmissionReview envelope kube-apiserver wraps around an object, for the benchmark. */

export type Json = Record<string, unknown>;

let counter = 0;
const uid = (): string => `00000000-0000-4000-8000-${(++counter).toString(16).padStart(12, '0')}`;

export function admissionReview(options: {
  kind: { group: string; version: string; kind: string };
  resource: string;
  object: Json | null;
  oldObject?: Json | null;
  operation?: 'CREATE' | 'UPDATE' | 'DELETE';
  namespace?: string;
}): Json {
  const meta = (options.object ?? options.oldObject ?? {}).metadata as Json | undefined;
  const operation = options.operation ?? (options.oldObject ? 'UPDATE' : 'CREATE');
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: uid(),
      kind: options.kind,
      resource: {
        group: options.kind.group,
        version: options.kind.version,
        resource: options.resource,
      },
      requestKind: options.kind,
      requestResource: {
        group: options.kind.group,
        version: options.kind.version,
        resource: options.resource,
      },
      name: meta?.name,
      namespace: options.namespace ?? meta?.namespace ?? 'shop',
      operation,
      userInfo: {
        username: 'system:serviceaccount:argocd:argocd-application-controller',
        uid: 'b8d1b0a0-5c2e-4d7b-9f5e-2f6c2d6e8a11',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd', 'system:authenticated'],
      },
      object: options.object,
      oldObject: options.oldObject ?? null,
      dryRun: false,
      options: {
        apiVersion: 'meta.k8s.io/v1',
        kind: operation === 'UPDATE' ? 'UpdateOptions' : 'CreateOptions',
        fieldManager: 'argocd-controller',
      },
    },
  };
}
