import { defineConfig } from 'vitest/config'

// Test tiers show in file names: *.unit.test.ts (pure, beside the code), *.int.test.ts (real anvil,
// Kafka or SQLite), *.e2e.test.ts (a chain transaction to a WebSocket frame). Kafka is started once
// for the whole run by test/support/kafka-global-setup.ts; anvil is started per test file.
export default defineConfig({
  test: {
    globalSetup: ['test/support/kafka-global-setup.ts'],
    include: ['**/*.{unit,int,e2e}.test.ts'],
    exclude: ['node_modules/**', '.cache/**', '.data/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
})
