import { buildDist } from './helpers/build.js';

/**
 * Tests that run the command line use the compiled `dist/`, as users do. Build it once before
 * the run so those tests never exercise stale output.
 */
export async function setup(): Promise<void> {
  await buildDist();
}
