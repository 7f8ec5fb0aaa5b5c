import { Command, Option } from 'commander';
import { MESH_IDS } from '../mesh/ids.js';
import { DEFAULT_POLICY_SPEC } from '../policy/defaults.js';
import { DEFAULT_LIMITS, DEFAULT_SHUTDOWN_SECONDS } from '../server/limits.js';
import { examplesHelp } from './help-examples.js';
import { REVIEW_FORMATS } from './review-formats.js';
import { packageVersion } from './version.js';

const MIB = 1024 * 1024;
const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * A command's code is loaded when it runs: `serve` reaches ready sooner without loading the
 * review, translation and certificate commands, and they without the HTTPS server.
 */
const lazily =
  <A extends unknown[]>(load: () => Promise<(...args: A) => unknown>) =>
  async (...args: A): Promise<void> => {
    await (
      await load()
    )(...args);
  };

export function buildProgram(): Command {
  const program = new Command('meshwarden')
    .description('Kubernetes admission webhook and policy enforcer for service-mesh traffic')
    .version(packageVersion(), '-V, --version', 'print the version of meshwarden')
    .showHelpAfterError()
    .exitOverride()
    .addHelpText('after', examplesHelp('meshwarden'));

  program
    .command('serve')
    .description('run the HTTPS admission webhook')
    .option('--port <n>', 'HTTPS port (env PORT)', process.env.PORT ?? '8443')
    .option('--metrics-port <n>', 'serve GET /metrics over plain HTTP on this port, not on --port')
    .option('--cert <file>', 'serving certificate (PEM); with --key')
    .option('--key <file>', 'serving private key (PEM); with --cert')
    .option(
      '--ca <file>',
      'CA bundle the --cert pair must chain to; a pair that does not (or is expired) is refused on load',
    )
    .option(
      '--policy <file>',
      'MeshPolicy file, hot-reloaded (default: policies/default.yaml when present)',
    )
    .option(
      '--kubeconfig <file>',
      'connect to a cluster: watch caches, policy ConfigMaps, reconciler',
    )
    .option('--in-cluster', "connect to the cluster with the pod's service account")
    .option(
      '--install-namespace <ns>',
      'namespace meshwarden runs in (env POD_NAMESPACE)',
      process.env.POD_NAMESPACE ?? 'meshwarden-system',
    )
    .option('--service <name>', 'webhook Service name (certificate SANs)', 'meshwarden')
    .option(
      '--tls-secret <name>',
      'kubernetes.io/tls Secret of self-managed certificates',
      'meshwarden-tls',
    )
    .option(
      '--cert-mode <mode>',
      'self-managed (certificates in --tls-secret, caBundle patched) or external (files); default: self-managed with --in-cluster, else external',
    )
    .option('--mutating-webhook <name>', 'MutatingWebhookConfiguration whose caBundle is managed')
    .option(
      '--validating-webhook <name>',
      'ValidatingWebhookConfiguration whose caBundle is managed',
    )
    .option(
      '--leader-lease <name>',
      'coordination.k8s.io Lease for leader election',
      'meshwarden-leader',
    )
    .option(
      '--mutate-on-timeout <allow|deny>',
      'answer of /mutate when rules miss the deadline',
      'allow',
    )
    .option(
      '--validate-on-timeout <allow|deny>',
      'answer of /validate when rules miss the deadline',
      'deny',
    )
    .option(
      '--controller-service-account <ns/name>',
      "ServiceAccount meshwarden's controller writes as (env CONTROLLER_SERVICE_ACCOUNT); its translated routes pass the weight-shift guard when they match the TrafficSplit",
      process.env.CONTROLLER_SERVICE_ACCOUNT,
    )
    .option(
      '--drain-seconds <n>',
      'seconds to keep serving after SIGTERM (env MESHWARDEN_DRAIN_SECONDS)',
      process.env.MESHWARDEN_DRAIN_SECONDS ?? '5',
    )
    .option(
      '--shutdown-seconds <n>',
      'seconds from SIGTERM until the drain ends whatever clients do; open requests are then cut',
      String(DEFAULT_SHUTDOWN_SECONDS),
    )
    .option(
      '--max-connections <n>',
      'open connections at once',
      String(DEFAULT_LIMITS.maxConnections),
    )
    .option(
      '--max-buffered-mib <n>',
      'MiB of request bodies held at once; past it reviews get 429 with Retry-After',
      String(DEFAULT_LIMITS.maxBufferedBytes / MIB),
    )
    .option(
      '--max-reviews-in-flight <n>',
      'reviews read or judged at once; past it 429 with Retry-After',
      String(DEFAULT_LIMITS.maxReviewsInFlight),
    )
    .option(
      '--request-timeout-seconds <n>',
      'a whole request must arrive within this time',
      String(DEFAULT_LIMITS.requestTimeoutMs / 1000),
    )
    .option(
      '--headers-timeout-seconds <n>',
      "each request's headers must arrive within this time",
      String(DEFAULT_LIMITS.headersTimeoutMs / 1000),
    )
    .option(
      '--max-backends <n>',
      'weighted backends per route object; more are denied unread',
      String(DEFAULT_LIMITS.work.maxBackends),
    )
    .option(
      '--max-routes <n>',
      'route entries per route object; more are denied unread',
      String(DEFAULT_LIMITS.work.maxRoutes),
    )
    .addHelpText('after', examplesHelp('serve'))
    .action(lazily(async () => (await import('./serve-command.js')).runServe));

  program
    .command('review')
    .description('run the webhook engine offline over manifests (mutate, then validate)')
    .requiredOption(
      '-f, --filename <path...>',
      'files, folders (recursive *.yaml, *.yml, *.json) or - for stdin',
    )
    .option('--old <path...>', 'previous versions: matching objects are reviewed as UPDATE')
    .option(
      '--context <path...>',
      'objects the cluster holds, as the watch caches would (Namespaces with their labels, Services, Canaries, Rollouts, TrafficSplits, HTTPRouteGroups, Deployments a Rollout refers to, route objects); known, not reviewed',
    )
    .option(
      '--controller-service-account <ns/name>',
      "ServiceAccount of meshwarden's controller, as serve's flag",
    )
    .option(
      '--policy <file>',
      'MeshPolicy file or policy ConfigMap (default: the embedded default policy)',
    )
    .addOption(
      new Option('--mesh <mesh>', 'mesh to assume (overrides the policy mesh)').choices(MESH_IDS),
    )
    .option(
      '--namespace-labels <k=v,...>',
      'labels every namespace is assumed to carry (those in --context keep their own)',
    )
    .option('--user <name>', 'requesting user', 'meshwarden-review')
    .option('--group <group>', 'requesting user group (repeatable)', collect)
    .option(
      '--strict',
      'documents that are not Kubernetes objects (no apiVersion and kind) are errors, not skipped',
    )
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(REVIEW_FORMATS).default('text'),
    )
    .addHelpText('after', examplesHelp('review'))
    .action(lazily(async () => (await import('./review-command.js')).runReview));

  program
    .command('translate')
    .description("print each TrafficSplit's native routing objects for a mesh")
    .requiredOption(
      '-f, --filename <path...>',
      'files, folders (recursive *.yaml, *.yml, *.json) or - for stdin',
    )
    .addOption(
      new Option('--mesh <mesh>', 'target mesh')
        .choices(MESH_IDS)
        .default(DEFAULT_POLICY_SPEC.fallbackMesh),
    )
    .option('--port <n...>', 'root Service ports, when its manifest is not in the input')
    .option(
      '--target-version <group/version>',
      'API version to write for an API group, as <group>/<version>, e.g. Gateway API v1beta1 for Linkerd 2.14 to 2.17 (repeatable)',
      collect,
    )
    .option(
      '--cluster-domain <domain>',
      'cluster DNS domain for fully qualified hosts',
      'cluster.local',
    )
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['yaml', 'json'])
        .default('yaml'),
    )
    .addHelpText('after', examplesHelp('translate'))
    .action(lazily(async () => (await import('./translate-command.js')).runTranslate));

  program
    .command('certs')
    .description('generate a CA and a serving certificate for the webhook Service')
    .option('--out <dir>', 'output folder', 'certs')
    .option('--service <name>', 'Service name', 'meshwarden')
    .option('--namespace <ns>', 'Service namespace', 'meshwarden-system')
    .option('--days <n>', 'serving certificate lifetime in days', '365')
    .addHelpText('after', examplesHelp('certs'))
    .action(lazily(async () => (await import('./certs-command.js')).runCerts));

  const policy = program
    .command('policy')
    .description('policy tools')
    .addHelpText('after', examplesHelp('policy check'));
  policy
    .command('check')
    .description('validate a MeshPolicy file or a policy ConfigMap manifest')
    .requiredOption('-f, --filename <file>', 'policy file or ConfigMap manifest')
    .addHelpText('after', examplesHelp('policy check'))
    .action(lazily(async () => (await import('./policy-command.js')).runPolicyCheck));

  return program;
}
