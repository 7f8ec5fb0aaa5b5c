import * as clientNode from '@kubernetes/client-node';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { ResourceQuota } from 'kubernetes-models/v1/ResourceQuota';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { KubeObject } from './helm.js';

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: never) => Validatable;

/** Kinds kubernetes-models validates offline against the Kubernetes OpenAPI schemas. */
const MODELS: Record<string, ModelClass> = {
  'v1/ConfigMap': ConfigMap,
  'v1/ResourceQuota': ResourceQuota,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': MutatingWebhookConfiguration,
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': ValidatingWebhookConfiguration,
};

/** Kinds no installed package has a schema for; the chart tests check their fields one by one. */
export const CHECKED_BY_HAND = new Set([
  'cert-manager.io/v1/Certificate',
  'cert-manager.io/v1/Issuer',
]);

export function typeKey(object: KubeObject): string {
  return `${object.apiVersion}/${object.kind}`;
}

export function hasModel(object: KubeObject): boolean {
  return MODELS[typeKey(object)] !== undefined;
}

/**
 * Problems with an object: kubernetes-models' schema validation (types, required fields, formats)
 * plus unknown fields, which the upstream schemas allow but the API server drops silently.
 */
export function schemaProblems(object: KubeObject): string[] {
  const Model = MODELS[typeKey(object)];
  if (Model === undefined) return [`no schema for ${typeKey(object)}`];
  const problems: string[] = [];
  try {
    new Model(object as never).validate();
  } catch (error) {
    problems.push((error as Error).message);
  }
  problems.push(...unknownFields(object, `V1${object.kind}`, object.kind));
  return problems;
}

interface Attribute {
  readonly baseName: string;
  readonly type: string;
}
type ModelWithAttributes = { getAttributeTypeMap(): Attribute[] };

/**
 * Walks an object along @kubernetes/client-node's generated model metadata (the same OpenAPI
 * document, one class per definition) and reports every field the type does not have.
 */
function unknownFields(value: unknown, type: string, path: string): string[] {
  if (value === null || value === undefined) return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    return Array.isArray(value)
      ? value.flatMap((item, i) => unknownFields(item, array[1]!, `${path}[${i}]`))
      : [];
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    return typeof value === 'object'
      ? Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1]!, `${path}.${k}`))
      : [];
  }
  const model = (clientNode as unknown as Record<string, ModelWithAttributes | undefined>)[type];
  if (model === undefined || typeof model.getAttributeTypeMap !== 'function') return [];
  if (typeof value !== 'object' || Array.isArray(value)) return [];
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([key, child]) => {
    const childType = attributes.get(key);
    if (childType === undefined) return [`${path}.${key} is not a field of ${type}`];
    return unknownFields(child, childType, `${path}.${key}`);
  });
}
