import { defineConfig } from 'vitest/config';

// Dawn segfaults under worker threads; every test file gets its own forked
// process and so its own WebGPU device. Two cores: two files at a time.
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 600_000,
    hookTimeout: 120_000,
    include: ['test/**/*.test.ts'],
  },
});
