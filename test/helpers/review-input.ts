import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A folder of mixed review input, as CI meets it: a workload that is denied, one that is
 * patched and allowed, a Service no rule looks at, a prometheus.yml, and a file that is no YAML.
 */
export async function mixedInput(dir: string): Promise<string> {
  const root = join(dir, 'mixed');
  await mkdir(root, { recursive: true });
  const deployment = (name: string, labels: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: shop
spec:
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels:
${labels}
    spec:
      containers:
        - name: app
          image: example/${name}:1.0
`;
  await writeFile(
    join(root, 'apps.yaml'),
    [
      deployment('cart', '        app: cart'),
      deployment('web', '        app: web\n        version: v1'),
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  ports: [{port: 80}]\n',
    ].join('---\n'),
  );
  await writeFile(
    join(root, 'prometheus.yml'),
    'global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: web\n',
  );
  await writeFile(join(root, 'zz-broken.yaml'), 'apiVersion: v1\nkind: [unclosed\n');
  return root;
}
