import type { KubeObject } from '../../k8s/objects.js';
import { asArray, asRecord } from '../../util/objects.js';

/** How many ports a Service exposes: Istio needs `destination.port` only when it has several. */
export function serviceTcpPortCount(service: KubeObject | undefined): number {
  return (asArray(asRecord(service?.spec)?.ports) ?? []).length;
}
