import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // GPU tests acquire a Dawn device; worker threads can crash Dawn, forks cannot.
    pool: "forks",
    testTimeout: 60_000,
  },
});
