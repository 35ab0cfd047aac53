import { defineConfig } from "vitest/config";

// Tests mirror lib/: test/unit/ (no network, no DynamoDB: enforced by test/helpers/no-network.ts) and
// test/integration/ (real HTTP to the emulator, dynalite in-process, the serverless CLI). `npm test` runs both.
const shared = { testTimeout: 60_000, hookTimeout: 60_000, pool: "forks" } as const;

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          setupFiles: ["test/helpers/no-network.ts"],
        },
      },
      { test: { ...shared, name: "integration", include: ["test/integration/**/*.test.ts"] } },
    ],
  },
});
