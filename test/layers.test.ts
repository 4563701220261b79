/**
 * `npm run lint:layers` (dependency-cruiser with .dependency-cruiser.cjs, part of `npm test`) can fail: run in
 * a copy of the checkout with one import against the layering and one import cycle added, it exits non-zero
 * and names the rule, the importing file and the imported file; run on a small tree that keeps the rules, it
 * passes. Whether the real tree keeps them is the `npm test` step itself, not this file.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
/** Two cruises of ~100 files, each a few seconds, but minutes on a loaded 2-core machine. */
const SLOW = 120_000;

const workspaces: string[] = [];
afterAll(async () => {
  await Promise.all(workspaces.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh directory with the checkout's package.json, tsconfig.json, the check's config and node_modules. */
async function project(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `mqtt-contracts-layers-${name}-`));
  workspaces.push(dir);
  for (const file of ["package.json", "tsconfig.json", ".dependency-cruiser.cjs"]) await cp(join(repoRoot, file), join(dir, file));
  await symlink(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

async function write(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
}

/** `npm run lint:layers` in `dir`: its exit code and everything it printed. */
function lintLayers(dir: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile("npm", ["run", "--silent", "lint:layers"], { cwd: dir, timeout: SLOW, env: { ...process.env, NO_COLOR: "1" } }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") reject(error);
      else resolve({ code: error ? (error.code as number) : 0, output: `${stdout}${stderr}` });
    });
  });
}

describe("npm run lint:layers", () => {
  it(
    "fails on a copy of src/ and codegen/ with a communicator → instances import, a type-only wire → communicator import and a type-only cycle, naming rule and files",
    async () => {
      const dir = await project("broken");
      await cp(join(repoRoot, "src"), join(dir, "src"), { recursive: true });
      await cp(join(repoRoot, "codegen"), join(dir, "codegen"), { recursive: true });
      await write(dir, {
        // Files of their own, so the test does not depend on which real files the refactor moves.
        "src/instances/layers-probe-target.ts": "export const probeTarget = 1;\n",
        "src/communicator/layers-probe.ts": 'import { probeTarget } from "../instances/layers-probe-target.js";\n\nexport const probe = probeTarget + 1;\n',
        "src/communicator/layers-probe-type.ts": "export interface ProbeShape {\n  id: string;\n}\n",
        "src/wire/layers-probe.ts": 'import type { ProbeShape } from "../communicator/layers-probe-type.js";\n\nexport const probeWire = (shape: ProbeShape): string => shape.id;\n',
        // A cycle inside one layer, through type-only imports: only no-circular can catch it.
        "src/wire/layers-cycle-a.ts": 'import type { B } from "./layers-cycle-b.js";\n\nexport interface A {\n  b?: B;\n}\n',
        "src/wire/layers-cycle-b.ts": 'import type { A } from "./layers-cycle-a.js";\n\nexport interface B {\n  a?: A;\n}\n',
      });

      const { code, output } = await lintLayers(dir);

      expect(code, output).not.toBe(0);
      expect(output).toContain("error communicator-below-contract-and-instances: src/communicator/layers-probe.ts → src/instances/layers-probe-target.ts");
      expect(output).toContain("error wire-only-foundation-transport: src/wire/layers-probe.ts → src/communicator/layers-probe-type.ts");
      expect(output).toMatch(/error no-circular: src\/wire\/layers-cycle-([ab])\.ts →\s+src\/wire\/layers-cycle-[ab]\.ts →\s+src\/wire\/layers-cycle-\1\.ts/);
      // Each violation comes with its rule's reason.
      expect(output).toContain("Import cycles (type-only ones too)");
    },
    SLOW,
  );

  it(
    "passes on a small tree in which every layer imports only what it may",
    async () => {
      const dir = await project("clean");
      await write(dir, {
        "src/errors/errors.ts": "export class ProbeError extends Error {}\n",
        "src/logger.ts": 'import { ProbeError } from "./errors/errors.js";\n\nexport const logError = (error: ProbeError): string => error.message;\n',
        "src/transport/transport.ts": 'import type { ProbeError } from "../errors/errors.js";\n\nexport interface Transport {\n  publish(topic: string, payload: Uint8Array): Promise<ProbeError | undefined>;\n}\n',
        "src/wire/format.ts": 'import type { Transport } from "../transport/transport.js";\n\nexport interface WireFormat {\n  send(transport: Transport, topic: string): Promise<void>;\n}\n',
        "src/communicator/membership.ts": "export interface Membership {\n  join(group: string): void;\n}\n",
        "src/communicator/core.ts":
          'import type { Transport } from "../transport/transport.js";\nimport type { WireFormat } from "../wire/format.js";\nimport type { Membership } from "./membership.js";\n\nexport class Core {\n  constructor(\n    readonly transport: Transport,\n    readonly format: WireFormat,\n    readonly membership: Membership,\n  ) {}\n}\n',
        "src/communicator/defaults.ts": "export const TIMEOUT_MS = 1000;\n",
        "src/contract/define-service.ts": 'import type { Core } from "../communicator/core.js";\n\nexport const defineService = (core: Core): Core => core;\n',
        "src/instances/presence.ts": 'import type { Membership } from "../communicator/membership.js";\n\nexport const presence: Membership = { join: () => undefined };\n',
        "src/memory/memory-communicator.ts": 'import { Core } from "../communicator/core.js";\nimport { presence } from "../instances/presence.js";\nimport type { Transport } from "../transport/transport.js";\nimport type { WireFormat } from "../wire/format.js";\n\nexport const memory = (transport: Transport, format: WireFormat): Core => new Core(transport, format, presence);\n',
        "src/broker/embedded-broker.ts": 'import { logError } from "../logger.js";\n\nexport const broker = logError;\n',
        "src/plugins/registry.ts": 'import { memory } from "../memory/memory-communicator.js";\n\nexport const plugins = [memory];\n',
        "src/agent/base-agent.ts": 'import { plugins } from "../plugins/registry.js";\nimport { defineService } from "../contract/define-service.js";\n\nexport const agent = { plugins, defineService };\n',
        "src/cli/main.ts": 'import { agent } from "../agent/base-agent.js";\n\nexport const main = async () => [agent, (await import("../../codegen/index.js")).generate];\n',
        "src/index.ts": 'export { agent } from "./agent/base-agent.js";\nexport { ProbeError } from "./errors/errors.js";\n',
        "codegen/index.ts": 'import { defineService } from "../src/contract/define-service.js";\nimport { TIMEOUT_MS } from "../src/communicator/defaults.js";\nimport type { WireFormat } from "../src/wire/format.js";\n\nexport const generate = (format?: WireFormat) => [defineService, TIMEOUT_MS, format];\n',
      });

      const { code, output } = await lintLayers(dir);

      expect(output).toMatch(/no dependency violations found \(16 modules, \d+ dependencies cruised\)/);
      expect(code, output).toBe(0);
    },
    SLOW,
  );
});
