import { execFileSync } from 'node:child_process';

/**
 * Tests that run the command line use the compiled `dist/`, as users do. Build it once before
 * the run so those tests never exercise stale output.
 */
export function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
}
