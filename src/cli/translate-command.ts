import { stringify } from 'yaml';
import type { KubeObject } from '../k8s/objects.js';
import { isMeshId, MESH_IDS, type MeshId } from '../mesh/ids.js';
import { CONSULTED_KINDS, WRITERS } from '../mesh/registry.js';
import { splitApiVersion } from '../util/api-version.js';
import { TRAFFIC_SPLIT_GROUP } from '../traffic/smi/api.js';
import { isHttpRouteGroup } from '../traffic/route-groups.js';
import { translateTrafficSplit } from '../translation/translate.js';
import { formatInputError, readManifests, type SourcedObject } from './manifests.js';
import { EXIT, UsageError } from './errors.js';

export interface TranslateFlags {
  filename: string[];
  mesh: string;
  output: 'yaml' | 'json';
  port?: string[];
  clusterDomain?: string;
  targetVersion?: string[];
}

/**
 * `meshwarden translate`: prints the native routing objects of every TrafficSplit in the input
 * (CONTRACT §6). Services and HTTPRouteGroups in the same input supply root ports and matches.
 * Nothing is printed unless every split translates: a partial set piped into `kubectl apply`
 * would route differently from what the input says.
 */
export async function runTranslate(flags: TranslateFlags): Promise<void> {
  if (!isMeshId(flags.mesh))
    throw new UsageError(`--mesh must be one of ${MESH_IDS.join(', ')}; got ${flags.mesh}`);
  const mesh = flags.mesh;
  const ports = (flags.port ?? []).map((text) => {
    const port = Number(text);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new UsageError(`--port takes a port number (1-65535); got ${text}`);
    return port;
  });
  const targetVersions = parseTargetVersions(flags.targetVersion ?? []);
  const written = writtenGroups(mesh);
  for (const group of Object.keys(targetVersions))
    if (!written.includes(group))
      throw new UsageError(
        `--target-version names ${group}, which --mesh ${mesh} does not write; it writes ${written.join(', ')}`,
      );
  const read = await readManifests(flags.filename);
  const problems = read.errors.map((e) => `error: ${formatInputError(e)}`);
  const splits = read.objects.filter((o) => isTrafficSplit(o.object));
  const services = read.objects.map((o) => o.object).filter(isService);
  const routeGroups = read.objects.map((o) => o.object).filter(isHttpRouteGroup);
  // The cluster's own mesh objects, when given: used as they are, never written over.
  const existing = read.objects.map((o) => o.object).filter(isConsulted);
  if (splits.length === 0 && problems.length === 0)
    problems.push(`error: no ${TRAFFIC_SPLIT_GROUP} TrafficSplit in ${flags.filename.join(', ')}`);

  const objects: KubeObject[] = [];
  const warnings: string[] = [];
  for (const item of splits) {
    const result = translateTrafficSplit(item.object, mesh, {
      services,
      routeGroups,
      existing,
      targetVersions,
      ...(ports.length > 0 ? { ports } : {}),
      ...(flags.clusterDomain === undefined ? {} : { clusterDomain: flags.clusterDomain }),
    });
    if (result.ok) {
      objects.push(...result.objects);
      warnings.push(...result.warnings.map((w) => `warning: ${where(item)}: ${w}`));
    } else {
      problems.push(`error: ${where(item)}: ${result.error.replace(/\n/g, '\n  ')}`);
    }
  }
  for (const line of [...warnings, ...problems]) process.stderr.write(`${line}\n`);
  if (problems.length > 0) {
    process.exitCode = EXIT.usage;
    return;
  }
  process.stdout.write(
    flags.output === 'json'
      ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`
      : objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n'),
  );
  process.exitCode = EXIT.ok;
}

/** `file:line: TrafficSplit ns/name`, for messages. */
function where(item: SourcedObject): string {
  const meta = item.object.metadata;
  return `${item.file}:${item.line}: TrafficSplit ${meta?.namespace ?? 'default'}/${meta?.name ?? ''}`;
}

function isTrafficSplit(object: KubeObject): boolean {
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  return (
    object.kind === 'TrafficSplit' && splitApiVersion(apiVersion).group === TRAFFIC_SPLIT_GROUP
  );
}

/** `--target-version group/version`, repeatable: one version per API group. */
function parseTargetVersions(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const slash = value.lastIndexOf('/');
    const group = value.slice(0, slash);
    const version = value.slice(slash + 1);
    if (
      slash <= 0 ||
      !/^[a-z0-9.-]+$/.test(group) ||
      !/^v[0-9]+((alpha|beta)[0-9]+)?$/.test(version)
    )
      throw new UsageError(
        `--target-version takes <group>/<version>, e.g. <group>/v1beta1; got ${value}`,
      );
    if (out[group] !== undefined && out[group] !== version)
      throw new UsageError(`--target-version gives ${group} twice (${out[group]}, ${version})`);
    out[group] = version;
  }
  return out;
}

/** The API groups of the kinds a mesh's translation writes. */
function writtenGroups(mesh: MeshId): string[] {
  const writer = WRITERS[mesh];
  return [...new Set([writer.produces, ...(writer.alsoProduces ?? [])].map((k) => k.group))];
}

function isConsulted(object: KubeObject): boolean {
  const group = splitApiVersion(
    typeof object.apiVersion === 'string' ? object.apiVersion : '',
  ).group;
  return CONSULTED_KINDS.some((k) => k.group === group && k.kind === object.kind);
}

function isService(object: KubeObject): boolean {
  return object.kind === 'Service' && object.apiVersion === 'v1';
}
