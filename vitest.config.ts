import { defineConfig } from 'vitest/config';

// Three projects: `unit` mocks the AWS SDK (aws-sdk-client-mock patches every client in a worker),
// `twin` talks to real local servers (dynalite, the Step Functions interpreter) — they must not share workers —
// and `browser` drives the console in the system Chromium (playwright-core) against a twin per file.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/infra/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
          env: { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_TRACE_ENABLED: 'false' },
        },
      },
      {
        test: {
          name: 'twin',
          include: ['test/twin/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          env: { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_TRACE_ENABLED: 'false' },
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          env: { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_TRACE_ENABLED: 'false' },
        },
      },
    ],
  },
});
