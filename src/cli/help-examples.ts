/**
 * The examples each command's `--help` ends with. `offline` examples run from a clone with no
 * cluster and no network; the test of the help runs each of them and checks its exit code.
 */
export interface HelpExample {
  readonly line: string;
  readonly comment?: string;
  /** The exit code when run from the repository root, for examples that run offline. */
  readonly offline?: { readonly exit: number };
}

export const HELP_EXAMPLES: Readonly<Record<string, readonly HelpExample[]>> = {
  meshwarden: [
    { line: 'meshwarden --version', offline: { exit: 0 } },
    { line: 'meshwarden review --help', comment: 'the flags and examples of one command' },
  ],
  serve: [
    { line: 'meshwarden serve', comment: 'development: generated certificates, default policy' },
    { line: 'PORT=9443 meshwarden serve --policy my-policy.yaml' },
    {
      line: 'meshwarden serve --in-cluster --metrics-port 9090',
      comment: 'in a pod, as the Helm chart runs it',
    },
  ],
  review: [
    {
      line: 'meshwarden review -f examples/canary-gloo/',
      comment: 'every manifest of a folder',
      offline: { exit: 0 },
    },
    {
      line: 'meshwarden review -f examples/canary-gloo/vs-50-50.yaml --old examples/canary-gloo/vs-100-0.yaml',
      comment: 'an UPDATE: refused, +50 points in one step',
      offline: { exit: 1 },
    },
    {
      line: 'helm template my-release charts/meshwarden | meshwarden review -f -',
      comment: 'a chart, rendered first',
    },
    {
      line: 'meshwarden review -f examples/ -o sarif > meshwarden.sarif',
      comment: 'for code scanning (SARIF 2.1.0)',
    },
    {
      line: 'meshwarden review -f examples/ -o junit > meshwarden-junit.xml',
      comment: "for the CI's test report",
    },
    {
      line: 'meshwarden review -f examples/canary-smi/split-80-20.yaml --mesh linkerd --namespace-labels meshwarden.io/enforce=enabled',
      offline: { exit: 0 },
    },
  ],
  translate: [
    {
      line: 'meshwarden translate -f examples/canary-smi/split-80-20.yaml examples/canary-smi/services.yaml --mesh linkerd',
      offline: { exit: 0 },
    },
    {
      line: 'meshwarden translate -f examples/canary-smi/split-80-20.yaml --mesh istio -o json',
      offline: { exit: 0 },
    },
  ],
  certs: [
    { line: 'meshwarden certs --out certs --service meshwarden --namespace meshwarden-system' },
  ],
  'policy check': [
    { line: 'meshwarden policy check -f policies/default.yaml', offline: { exit: 0 } },
    {
      line: 'meshwarden policy check -f examples/bad-policy.yaml',
      comment: 'a policy ConfigMap: exit 1, naming the key',
      offline: { exit: 1 },
    },
  ],
};

/** The `Examples:` block of one command's help. */
export function examplesHelp(command: string): string {
  const examples = HELP_EXAMPLES[command] ?? [];
  if (examples.length === 0) return '';
  const lines = examples.map((e) => `  $ ${e.line}${e.comment ? `\n      ${e.comment}` : ''}`);
  return `\nExamples:\n${lines.join('\n')}\n`;
}
