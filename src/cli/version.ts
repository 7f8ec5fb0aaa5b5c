import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * meshwarden's version, from its package.json: the nearest one above this file whose name is
 * `meshwarden` (`dist/src/cli/` in a build and the image, `src/cli/` under the tests).
 */
export function packageVersion(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'meshwarden' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No package.json here (or not ours): look one folder up.
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}
