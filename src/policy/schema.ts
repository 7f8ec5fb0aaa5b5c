import { MESH_IDS } from '../mesh/ids.js';
import {
  ENFORCEMENTS,
  NAMESPACE_OVERRIDE_MODES,
  TRUSTED_CONTROLLER_KINDS,
  VERSION_DEFAULTS,
  WORKLOAD_SCOPES,
} from './types.js';

const enforcement = { type: 'string', enum: [...ENFORCEMENTS] } as const;
const percent = { type: 'integer', minimum: 0, maximum: 100 } as const;
/** RFC 1123 label: what a namespace name must be. */
const namespaceName = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 };
/** `namespace/name` of a ServiceAccount: an RFC 1123 label, a slash, an RFC 1123 subdomain. */
const serviceAccountRef = {
  type: 'string',
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
  maxLength: 317,
} as const;

/**
 * JSON Schema of the MeshPolicy document (CONTRACT §4). Unknown keys are errors, so that a typo
 * such as `maxStepWeigth` is reported instead of silently leaving the default in force.
 */
export const policyDocumentSchema = {
  $id: 'https://meshwarden.io/schemas/mesh-policy.json',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind'],
  properties: {
    apiVersion: { const: 'meshwarden.io/v1alpha1' },
    kind: { const: 'MeshPolicy' },
    metadata: { type: 'object' },
    spec: {
      type: 'object',
      additionalProperties: false,
      properties: {
        mesh: { type: 'string', enum: ['auto', ...MESH_IDS] },
        fallbackMesh: { type: 'string', enum: [...MESH_IDS] },
        enforcement,
        excludedNamespaces: { type: 'array', items: namespaceName, uniqueItems: true },
        workloadScope: { type: 'string', enum: [...WORKLOAD_SCOPES] },
        sidecarInjection: {
          type: 'object',
          additionalProperties: false,
          properties: { enabled: { type: 'boolean' } },
        },
        versionLabels: {
          type: 'object',
          additionalProperties: false,
          properties: {
            required: { type: 'boolean' },
            enforcement,
            default: { type: 'string', enum: [...VERSION_DEFAULTS] },
          },
        },
        weightShift: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enforcement,
            maxStepWeight: { ...percent, minimum: 1 },
            maxTotalStepWeight: { ...percent, minimum: 1 },
            maxCanaryWeight: { ...percent, minimum: 1 },
            maxTotalCanaryWeight: { ...percent, minimum: 1 },
            minStepIntervalSeconds: { type: 'integer', minimum: 0, maximum: 86400 },
            overrideGroups: {
              type: 'array',
              items: { type: 'string', minLength: 1 },
              uniqueItems: true,
            },
            trustedControllers: {
              type: 'array',
              uniqueItems: true,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['kind', 'serviceAccount'],
                properties: {
                  kind: { type: 'string', enum: [...TRUSTED_CONTROLLER_KINDS] },
                  serviceAccount: serviceAccountRef,
                },
              },
            },
          },
        },
        namespaceOverrides: { type: 'string', enum: [...NAMESPACE_OVERRIDE_MODES] },
      },
    },
  },
} as const;
