import type { Mutator, Note, RuleContext } from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import type { VersionDefault } from '../policy/types.js';
import { asRecord, ensureRecord } from '../util/objects.js';
import {
  firstContainerImage,
  podTemplate,
  VERSION_LABEL_KEYS,
  versionFromImage,
  versionFromName,
  WORKLOAD_KINDS,
  workloadName,
} from './pod-template.js';
import { workloadScope, workloadSkipReason } from './workload-scope.js';

const RULE = 'version-label-default';

/**
 * Fills a missing version label on workload pod templates per `versionLabels.default`: from the
 * first container's image tag (`image-tag`) or from a version suffix of the workload name
 * (`name-suffix`). A version label that is present, under any accepted key, is never touched; an
 * empty one counts as missing.
 */
export const versionLabelDefault: Mutator = {
  name: RULE,
  kinds: WORKLOAD_KINDS,
  operations: ['CREATE', 'UPDATE'],
  skipReason: workloadSkipReason,
  mutate(draft: KubeObject, ctx: RuleContext): readonly Note[] | undefined {
    const mode = ctx.policy.versionLabels.default;
    // Outside the scope nothing is patched; the validator records the missing label.
    if (mode === 'none' || workloadScope(ctx).mode === 'audit') return undefined;
    const template = podTemplate(draft);
    if (!template) return undefined;
    const labels = asRecord(asRecord(template.metadata)?.labels);
    // A non-string value is a mistake the validator reports; overwriting it would hide it.
    if (VERSION_LABEL_KEYS.some((key) => !isBlank(labels?.[key]))) return undefined;
    const value = defaultVersion(draft, ctx, mode);
    if (value === undefined) return undefined;
    const key = VERSION_LABEL_KEYS[0];
    ensureRecord(ensureRecord(template, 'metadata'), 'labels')[key] = value;
    const from = mode === 'image-tag' ? 'the image tag' : 'the workload name';
    return [{ rule: RULE, audit: `${key}=${value} set from ${from}` }];
  },
};

function defaultVersion(
  object: KubeObject,
  ctx: RuleContext,
  mode: Exclude<VersionDefault, 'none'>,
): string | undefined {
  if (mode === 'image-tag') {
    const image = firstContainerImage(object);
    return image === undefined ? undefined : versionFromImage(image);
  }
  const name = workloadName(object, ctx.request);
  return name === undefined ? undefined : versionFromName(name);
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}
