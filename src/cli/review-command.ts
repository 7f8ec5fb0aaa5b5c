import { readFile } from 'node:fs/promises';
import { isMeshId, MESH_IDS } from '../mesh/ids.js';
import { DEFAULT_POLICY_SPEC } from '../policy/defaults.js';
import { formatPolicyErrors, parsePolicyOrConfigMap } from '../policy/load.js';
import type { PolicySpec } from '../policy/types.js';
import { contextFacts, readContext } from './context.js';
import { formatInputError, readManifests } from './manifests.js';
import { formatReviewText } from './output.js';
import { formatJunit } from './output-junit.js';
import { formatSarif } from './output-sarif.js';
import { jsonEntries, type ReviewReport } from './report.js';
import type { ReviewFormat } from './review-formats.js';
import { EXIT, UsageError } from './errors.js';
import { OfflineReviewer } from './review.js';
import { serviceAccountFlag } from './service-account-flag.js';

interface ReviewFlags {
  filename: string[];
  old?: string[];
  context?: string[];
  controllerServiceAccount?: string;
  policy?: string;
  mesh?: string;
  namespaceLabels?: string;
  user: string;
  group?: string[];
  strict?: boolean;
  output: ReviewFormat;
}

export async function runReview(flags: ReviewFlags): Promise<void> {
  const policy = await loadPolicy(flags.policy, flags.mesh);
  const namespaceLabels = parseLabels(flags.namespaceLabels);
  const strict = flags.strict === true;
  const read = await readManifests(flags.filename, { strict });
  const oldRead = flags.old
    ? await readManifests(flags.old, { strict })
    : { objects: [], errors: [], skipped: [] };
  const controllerServiceAccount = serviceAccountFlag(
    '--controller-service-account',
    flags.controllerServiceAccount,
  );
  const context = await readContext(flags.context);
  const reviewer = new OfflineReviewer({
    policy,
    cluster: {
      ...contextFacts(context, namespaceLabels),
      ...(controllerServiceAccount === undefined ? {} : { controllerServiceAccount }),
    },
    user: { username: flags.user, groups: flags.group ?? ['system:authenticated'] },
  });
  const { results, errors } = await reviewer.reviewAll(read.objects, oldRead.objects);
  const inputErrors = [...read.errors, ...oldRead.errors, ...context.errors, ...errors];
  // Always on stderr too, so a CI log shows them whatever file the report goes to.
  for (const e of inputErrors) process.stderr.write(`error: ${formatInputError(e)}\n`);
  const report: ReviewReport = { results, errors: inputErrors, skipped: read.skipped };
  process.stdout.write(`${format(report, flags.output)}\n`);
  process.exitCode =
    inputErrors.length > 0 ? EXIT.usage : results.some((r) => !r.allowed) ? EXIT.denied : EXIT.ok;
}

function format(report: ReviewReport, output: ReviewFormat): string {
  switch (output) {
    case 'json':
      return JSON.stringify(jsonEntries(report), null, 2);
    case 'junit':
      return formatJunit(report);
    case 'sarif':
      return formatSarif(report);
    case 'text':
      return formatReviewText(report.results, report);
  }
}

async function loadPolicy(file: string | undefined, mesh: string | undefined): Promise<PolicySpec> {
  let spec = DEFAULT_POLICY_SPEC;
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(
        `cannot read policy ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }
    const result = parsePolicyOrConfigMap(text);
    if (!result.ok)
      throw new UsageError(`invalid policy:\n${formatPolicyErrors(result.errors, file)}`);
    spec = result.policy.spec;
  }
  if (mesh !== undefined) {
    if (!isMeshId(mesh))
      throw new UsageError(`--mesh must be one of ${MESH_IDS.join(', ')}; got ${mesh}`);
    spec = { ...spec, mesh };
  }
  return spec;
}

export function parseLabels(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  const labels: Record<string, string> = {};
  for (const pair of text.split(',').filter((p) => p.trim() !== '')) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new UsageError(
        `--namespace-labels takes KEY=VALUE pairs separated by commas; got "${pair}"`,
      );
    labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return labels;
}
