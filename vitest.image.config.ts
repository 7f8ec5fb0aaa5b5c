import { defineConfig } from 'vitest/config';

// `npm run test:image`: the container image built and run (test/image/image.test.ts). Minutes
// long and needs root, apt and podman, so it is not part of `npm test`; .ci/run runs it as its
// own step and counts its tests in the summary (VITEST_JSON_REPORT, as in vitest.config.ts).
const jsonReport = process.env.VITEST_JSON_REPORT;

export default defineConfig({
  test: {
    include: ['test/image/image.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 45 * 60_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    reporters: jsonReport ? ['default', ['json', { outputFile: jsonReport }]] : ['default'],
  },
});
