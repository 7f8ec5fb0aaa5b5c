/**
 * The SMI TrafficSplit API: the mesh-neutral source that translation starts from. Its group is
 * spelled here only; everything else imports it.
 */
export const TRAFFIC_SPLIT_GROUP = 'split.smi-spec.io';
export const TRAFFIC_SPLIT_KIND = 'TrafficSplit';
export const TRAFFIC_SPLIT_VERSIONS = ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4'] as const;
export type TrafficSplitVersion = (typeof TRAFFIC_SPLIT_VERSIONS)[number];

export function isTrafficSplitVersion(version: string): version is TrafficSplitVersion {
  return (TRAFFIC_SPLIT_VERSIONS as readonly string[]).includes(version);
}
