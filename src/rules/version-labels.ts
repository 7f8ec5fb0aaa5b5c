import {
  NO_FINDINGS,
  type RuleContext,
  type ValidationResult,
  type Validator,
} from '../admission/rule.js';
import type { AdmissionRequest } from '../admission/types.js';
import type { KubeObject } from '../k8s/objects.js';
import { splitApiVersion } from '../util/api-version.js';
import type { JsonRecord } from '../util/objects.js';
import { templateSource } from './rollout-workload.js';
import { imageTag } from './version-tags.js';
import { workloadScope, workloadSkipReason } from './workload-scope.js';
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
import { flaggerOwner } from '../traffic/flagger.js';
import { flaggerWorkloadTrust } from './trust-flagger.js';
import { howToTrust, serviceAccountOf, trustedAs } from './trust-common.js';

const RULE = 'version-labels';

/**
 * Workload pod templates must carry an app label and a version label (CONTRACT §5), because
 * canary routing tells versions apart by them. Flagger's own writes (the `<target>-primary`
 * Deployment it creates and later updates, the target it scales) are not blocked when they come
 * from a trusted Flagger account and a cached Canary acts on the workload: they are recorded in
 * the audit log instead.
 */
export const versionLabels: Validator = {
  name: RULE,
  kinds: WORKLOAD_KINDS,
  operations: ['CREATE', 'UPDATE'],
  skipReason: workloadSkipReason,
  validate(object: KubeObject, ctx: RuleContext): ValidationResult {
    const { required, enforcement } = ctx.policy.versionLabels;
    if (!required) return NO_FINDINGS;
    // An object being deleted only loses finalizers; blocking that would leave it stuck.
    if (object.metadata?.deletionTimestamp) return NO_FINDINGS;
    const source = templateSource(object, ctx);
    if (source.from === 'reference' && source.object === undefined) {
      // The Deployment is checked itself whenever it is written; here it cannot be read.
      const audit = `${workloadId(object, ctx.request)} takes its pod template from ${source.id} (spec.workloadRef), which is not known here: its labels are checked when that Deployment is written`;
      return { violations: [], notes: [{ rule: RULE, audit }] };
    }
    const checked = source.from === 'reference' ? (source.object ?? object) : object;
    const request =
      source.from === 'reference' ? referencedRequest(ctx.request, checked) : ctx.request;
    const labels = templateMap(checked, 'labels');
    const app = firstLabel(labels, APP_LABEL_KEYS);
    const version = firstLabel(labels, VERSION_LABEL_KEYS);
    if (app && version) return NO_FINDINGS;
    const finding = describe(checked, request, labels, !app, !version);
    const via =
      source.from === 'reference'
        ? `${workloadId(object, ctx.request)} takes its pod template from ${source.id} (spec.workloadRef).\n`
        : '';
    const scope = workloadScope(ctx);
    const message = `${via}${finding.message}`;
    const flagger = flaggerTrust(object, ctx);
    const exempt = flagger?.trusted
      ? { text: 'Flagger-managed', reason: flagger.reason }
      : argoTrust(ctx);
    if (exempt)
      return {
        violations: [
          {
            rule: RULE,
            field: TEMPLATE_LABELS_FIELD,
            enforcement: 'audit',
            message: `${exempt.text}, allowed: ${message}`,
            summary: finding.summary,
          },
        ],
        notes: [{ rule: RULE, pass: exempt.reason }],
      };
    return {
      violations: [
        {
          rule: RULE,
          field: TEMPLATE_LABELS_FIELD,
          enforcement: scope.mode === 'audit' ? 'audit' : enforcement,
          message:
            scope.mode === 'audit'
              ? `${scope.reason}: ${message}`
              : flagger
                ? `${message}\n(${flagger.reason})`
                : message,
          summary: finding.summary,
        },
      ],
    };
  },
};

/** The request as if the referenced Deployment were written, so the fix names it. */
function referencedRequest(request: AdmissionRequest, target: KubeObject): AdmissionRequest {
  const { group, version } = splitApiVersion(target.apiVersion ?? 'apps/v1');
  const name = target.metadata?.name;
  return {
    ...request,
    kind: { group, version, kind: target.kind ?? 'Deployment' },
    ...(name === undefined ? {} : { name }),
    object: target,
  };
}

/**
 * Flagger's writes of the workloads it manages (the `<target>-primary` copy, the target it
 * scales) pass only from a trusted Flagger account with a verified Canary; a request that only
 * looks like Flagger's gets the reason it was not believed.
 */
function flaggerTrust(
  object: KubeObject,
  ctx: RuleContext,
): { trusted: boolean; reason: string } | undefined {
  const account = serviceAccountOf(ctx.request.userInfo.username);
  if (trustedAs(account, ctx.policy.weightShift.trustedControllers) === 'flagger' && account)
    return flaggerWorkloadTrust(object, ctx, account);
  if (account?.endsWith('/flagger') || flaggerOwner(object) !== undefined)
    return {
      trusted: false,
      reason: `not trusted as Flagger: ${account === undefined ? (ctx.request.userInfo.username ?? 'the user') : `ServiceAccount ${account}`} is not a trusted Flagger account (${howToTrust('flagger', account, ctx)})`,
    };
  return undefined;
}

/**
 * The Argo Rollouts controller rewrites Rollouts as they progress and scales the Deployment a
 * `workloadRef` names to zero; refusing those writes would stall a rollout half-way, so they are
 * recorded instead. Only its exact ServiceAccount, trusted in the policy as argo-rollouts, is
 * exempt: a tenant's own ServiceAccount named `argo-rollouts` is not.
 */
function argoTrust(ctx: RuleContext): { text: string; reason: string } | undefined {
  const account = serviceAccountOf(ctx.request.userInfo.username);
  if (
    account === undefined ||
    trustedAs(account, ctx.policy.weightShift.trustedControllers) !== 'argo-rollouts'
  )
    return undefined;
  return {
    text: 'written by the Argo Rollouts controller',
    reason: `trusted controller argo-rollouts ${account}`,
  };
}

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
  const suggested = missingVersion ? suggestedVersion(object, name) : undefined;
  if (missingVersion) add.version = suggested ?? VERSION_PLACEHOLDER;
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
  if (missingVersion && suggested === undefined) lines.push(noVersionTag(object));
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

/** Shown where no version could be suggested: the user names the release. */
const VERSION_PLACEHOLDER = '<version>';

/** A version from the first container's image tag, else from the workload name's suffix. */
function suggestedVersion(object: KubeObject, name: string | undefined): string | undefined {
  const image = firstContainerImage(object);
  return (
    (image === undefined ? undefined : versionFromImage(image)) ??
    (name === undefined ? undefined : versionFromName(name))
  );
}

function noVersionTag(object: KubeObject): string {
  const image = firstContainerImage(object);
  const tag = image === undefined ? undefined : imageTag(image);
  const why =
    image === undefined
      ? 'The pod template names no container image'
      : tag === undefined
        ? `The image ${image} has no tag`
        : `The image tag "${tag}" (${image}) is not a version`;
  return `${why}, so no version is suggested: set ${VERSION_LABEL_KEYS[0]} to the release this pod template runs, e.g. version: "1.4.2".`;
}
