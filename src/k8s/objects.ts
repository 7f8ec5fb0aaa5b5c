/**
 * Plain JSON shapes of Kubernetes objects. Never run these through client-node's ObjectSerializer:
 * it drops unknown fields, and a diff against its output would remove them.
 */

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** A kind a rule handles or a reader reads. `versions` absent means every version of the group. */
export interface KindRef {
  readonly group: string;
  readonly kind: string;
  readonly versions?: readonly string[];
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Any Kubernetes object as JSON. Fields beyond the envelope are read defensively by each rule. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}
