import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // Lets fixture packages under test/ import the library by its published name.
    alias: { "mqtt-contracts": new URL("./src/index.ts", import.meta.url).pathname },
  },
  test: {
    include: ["test/**/*.test.ts"],
    // Type tests (*.test-d.ts) run through the TypeScript compiler and report like other tests.
    typecheck: { enabled: true, include: ["test/**/*.test-d.ts"], tsconfig: "./tsconfig.json" },
    // Fixture packages live under node_modules, which vitest would hand to Node untransformed, and
    // Node does not know the alias above: transform them so `import … from "mqtt-contracts"` resolves.
    server: { deps: { inline: [/\/test\/fixtures\/.*\/node_modules\//] } },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Test files start their own brokers on free ports; two workers match the 2-core machines.
    maxWorkers: 2,
  },
});
