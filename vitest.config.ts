import { configDefaults, defineConfig } from 'vitest/config';

// CI asks for a machine-readable summary as well (see .ci/run).
const jsonReport = process.env.VITEST_JSON_REPORT;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds and runs the container image: its own command, `npm run test:image`.
    exclude: [...configDefaults.exclude, 'test/image/image.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    reporters: jsonReport ? ['default', ['json', { outputFile: jsonReport }]] : ['default'],
  },
});
