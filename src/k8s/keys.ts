/**
 * The metadata keys meshwarden reads and writes on other objects (CONTRACT §5). One definition
 * each: rules, translation, the controller and the chart tests all ask here.
 */

/** Label on every object meshwarden writes; its watches select on it. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'meshwarden';

/** Annotation naming the object a translated object was made from. */
export const SOURCE_ANNOTATION = 'meshwarden.io/source';

/**
 * Annotation on an object translation writes besides the route itself, because the mesh needs it
 * to route the split (a Consul ServiceDefaults, an App Mesh VirtualService): `checked` when the
 * cluster was seen to have none of that name, `unchecked` when written offline without knowing.
 */
export const PREREQUISITE_ANNOTATION = 'meshwarden.io/prerequisite';

/** Annotation with a reason that lifts the limits for users in `overrideGroups` (CONTRACT §5). */
export const ALLOW_WEIGHT_JUMP_ANNOTATION = 'meshwarden.io/allow-weight-jump';

/** RFC 3339 time of the last weight change, stamped by /mutate (CONTRACT §5). */
export const LAST_WEIGHT_CHANGE_ANNOTATION = 'meshwarden.io/last-weight-change';

/** Namespace label that opts a whole namespace out of meshwarden, or into the workload rules (CONTRACT §5). */
export const NAMESPACE_ENFORCE_LABEL = 'meshwarden.io/enforce';

/** Namespace label that picks the mesh for one namespace (CONTRACT §5 extension). */
export const NAMESPACE_MESH_LABEL = 'meshwarden.io/mesh';

/** Annotation on the TLS Secret: when the CA in `ca.key` was created (RFC 3339). */
export const CA_ROTATED_AT_ANNOTATION = 'meshwarden.io/ca-rotated-at';

/**
 * JSON object, keyed by root, naming each root's stable backend (the one that last held all of its
 * traffic). Written by /mutate on weighted routes, read by the guard from the old object only.
 */
export const STABLE_BACKENDS_ANNOTATION = 'meshwarden.io/stable-backends';
