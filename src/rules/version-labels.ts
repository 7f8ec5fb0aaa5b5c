import { flaggerManagement } from '../traffic/flagger.js';
import {
  NO_FINDINGS,
  type RuleContext,
  type ValidationResult,
  type Validator,
} from '../admission/rule.js';
import type { AdmissionRequest } from '../admission/types.js';
import type { KubeObject } from '../k8s/objects.js';
import type { JsonRecord } from '../util/objects.js';
import {
  APP_LABEL_KEYS,
  appFromName,
  firstContainerImage,
  firstLabel,
  TEMPLATE_LABELS_FIELD,
  templateMap,
  toLabelValue,
  VERSION_LABEL_KEYS,
  versionFromImage,
  versionFromName,
  WORKLOAD_KINDS,
  workloadId,
  workloadName,
} from './pod-template.js';

const RULE = 'version-labels';

/**
 * Workload pod templates must carry an app label and a version label (CONTRACT §5), because
 * canary routing tells versions apart by them. Flagger's own writes (the `<target>-primary`
 * Deployment it creates and later updates, the target it scales) are never blocked: they are
 * recorded in the audit log instead.
 */
export const versionLabels: Validator = {
  name: RULE,
  kinds: WORKLOAD_KINDS,
  operations: ['CREATE', 'UPDATE'],
  validate(object: KubeObject, ctx: RuleContext): ValidationResult {
    const { required, enforcement } = ctx.policy.versionLabels;
    if (!required) return NO_FINDINGS;
    // An object being deleted only loses finalizers; blocking that would leave it stuck.
    if (object.metadata?.deletionTimestamp) return NO_FINDINGS;
    const labels = templateMap(object, 'labels');
    const app = firstLabel(labels, APP_LABEL_KEYS);
    const version = firstLabel(labels, VERSION_LABEL_KEYS);
    if (app && version) return NO_FINDINGS;
    const flagger = flaggerManagement(object, ctx.request.userInfo.username) !== undefined;
    const finding = describe(object, ctx.request, labels, !app, !version);
    return {
      violations: [
        {
          rule: RULE,
          field: TEMPLATE_LABELS_FIELD,
          enforcement: flagger ? 'audit' : enforcement,
          message: flagger ? `Flagger-managed, allowed: ${finding.message}` : finding.message,
          summary: finding.summary,
        },
      ],
    };
  },
};

function describe(
  object: KubeObject,
  request: AdmissionRequest,
  labels: JsonRecord | undefined,
  missingApp: boolean,
  missingVersion: boolean,
): { message: string; summary: string } {
  const id = workloadId(object, request);
  const name = workloadName(object, request);
  const [missing, needs] =
    missingApp && missingVersion
      ? ['app and version labels', 'an app and a version label']
      : missingApp
        ? ['app label', 'an app label']
        : ['version label', 'a version label'];
  const add: Record<string, string> = {};
  if (missingApp) add.app = toLabelValue(appFromName(name ?? '')) ?? 'my-app';
  if (missingVersion) add.version = suggestedVersion(object, name);
  const unusable = [
    ...(missingApp ? APP_LABEL_KEYS : []),
    ...(missingVersion ? VERSION_LABEL_KEYS : []),
  ].flatMap((key) => {
    const value = labels?.[key];
    if (value === undefined) return [];
    if (value === '' || value === null) return [`${key} is empty`];
    return [`${key} is not a string (${JSON.stringify(value)}): quote it`];
  });
  const yaml = `{${Object.entries(add)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join(', ')}}`;
  const lines = [
    `${id} has no ${missing} on its pod template (${TEMPLATE_LABELS_FIELD})${unusable.length > 0 ? `: ${unusable.join('; ')}` : ''}.`,
    `Canary routing selects pods by app and version, so both labels are required. Accepted keys, first found: app: ${APP_LABEL_KEYS.join(', ')}; version: ${VERSION_LABEL_KEYS.join(', ')}.`,
    `Fix: add ${yaml} under ${TEMPLATE_LABELS_FIELD} in the manifest.`,
  ];
  if (request.operation === 'UPDATE' && name !== undefined) {
    const patch = JSON.stringify({ spec: { template: { metadata: { labels: add } } } });
    const ns = request.namespace ?? object.metadata?.namespace;
    lines.push(
      `Or on the running object: kubectl${ns === undefined ? '' : ` -n ${ns}`} patch ${request.kind.kind.toLowerCase()} ${name} --type merge -p '${patch}'`,
    );
  }
  return {
    message: lines.join('\n'),
    summary: `${id}: pod template needs ${needs} (${TEMPLATE_LABELS_FIELD})`,
  };
}

function suggestedVersion(object: KubeObject, name: string | undefined): string {
  const image = firstContainerImage(object);
  return (
    (image === undefined ? undefined : versionFromImage(image)) ??
    (name === undefined ? undefined : versionFromName(name)) ??
    'v1'
  );
}
