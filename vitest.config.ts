import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'stages/**/*.test.ts', 'test/**/*.test.ts'],
    // Disk and QEMU tests share loop devices and the machine's 2 cores: keep files serial-safe by
    // letting each test file declare its own needs; the default pool runs files in parallel.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
