import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/** The export condition under which `mqtt-contracts` (package.json `exports`) resolves to its TypeScript sources. */
const SOURCE_CONDITION = "@mqtt-contracts/source";
const sourceEntry = fileURLToPath(new URL("./src/index.ts", import.meta.url));

export default defineConfig({
  // Tests import "mqtt-contracts" as users do; the package resolves to itself through `exports`, and this
  // condition picks the sources, so no build is needed. The rest are Vite's default server conditions.
  ssr: { resolve: { conditions: [SOURCE_CONDITION, "module", "node", "development|production"] } },
  resolve: { conditions: [SOURCE_CONDITION, "module", "node", "development|production"] },
  plugins: [
    {
      // Plugin packages under test/fixtures/**/node_modules import "mqtt-contracts" as an installed
      // dependency would be; outside this package's scope self-reference does not apply, so point them at it.
      name: "fixture-packages-import-mqtt-contracts",
      enforce: "pre",
      resolveId(source, importer) {
        if (source === "mqtt-contracts" && importer?.includes("/test/fixtures/")) return sourceEntry;
        return null;
      },
    },
  ],
  test: {
    include: ["test/**/*.test.ts"],
    // Type tests (*.test-d.ts) run through the TypeScript compiler and report like other tests.
    typecheck: { enabled: true, include: ["test/**/*.test-d.ts"], tsconfig: "./tsconfig.json" },
    // Fixture packages live under node_modules, which vitest would hand to Node untransformed, and
    // Node cannot resolve "mqtt-contracts" from there: transform them so the plugin above applies.
    server: { deps: { inline: [/\/test\/fixtures\/.*\/node_modules\//] } },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Test files start their own brokers on free ports; two workers match the 2-core machines.
    maxWorkers: 2,
  },
});
