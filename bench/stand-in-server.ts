import { defaultRules } from '../src/rules/index.js';
import { startWebhook } from '../src/app/serve.js';
import { standInMarker } from './engine.js';

/**
 * meshwarden's own server (startWebhook, production logger and settings) with a stand-in for the
 * sidecar-marker mutator added to the registered rules, so the benchmark can show what /mutate
 * costs once a mutating rule is registered. `node stand-in-server.js PORT CERT KEY`.
 */
const [port, certFile, keyFile] = process.argv.slice(2);
if (port === undefined || certFile === undefined || keyFile === undefined) {
  process.stderr.write('usage: stand-in-server PORT CERT KEY\n');
  process.exit(2);
}
const rules = defaultRules();
const webhook = await startWebhook({
  port: Number(port),
  certFile,
  keyFile,
  policyFile: 'policies/default.yaml',
  drainSeconds: 0,
  rules: { mutators: [...rules.mutators, standInMarker], validators: rules.validators },
});
process.once('SIGTERM', () => {
  void webhook.shutdown(0).then(() => process.exit(0));
});
