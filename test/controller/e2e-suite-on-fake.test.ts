/**
 * Runs the real-cluster suite (test/e2e) against the fake API server, so that it keeps working
 * where no cluster is available. The translation is whatever src/traffic provides; the suite
 * accepts each documented outcome.
 */
import { afterAll } from 'vitest';
import { FakeApiServer } from '../helpers/fake-api-server.js';
import { installHttpRoute } from '../helpers/cluster.js';

const fake = await FakeApiServer.start();
installHttpRoute(fake);
process.env.KUBECONFIG = await fake.writeKubeconfig('e2e');
afterAll(() => fake.close());
await import('../e2e/cluster.test.js');
