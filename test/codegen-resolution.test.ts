/**
 * Codegen's type check resolves a contract's import of "mqtt-contracts" to "mqtt-contracts/contract"
 * when the contract imports only what that entry has: the same declarations, without the runtime's
 * and Node's. Anything else resolves as the project resolves it.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Project, ts } from "ts-morph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { typeCheckSettings } from "../codegen/compiler-options.js";
import { CONTRACT_ENTRY_EXPORTS, contractResolution, needsOnlyContractEntry } from "../codegen/contract-resolution.js";
import { printTypes } from "../codegen/typescript-types.js";
import { repoRoot } from "./helpers/child-process.js";
import { tempProject, type TempProject } from "./helpers/projects.js";

const parse = (text: string) => ts.createSourceFile("contract.ts", text, ts.ScriptTarget.ES2022, true);

describe("which contracts need only the contract entry", () => {
  it("lists exactly what src/contract-entry.ts exports", () => {
    const entry = new Project({ compilerOptions: { strict: true } }).addSourceFileAtPath(join(repoRoot, "src", "contract-entry.ts"));
    expect([...entry.getExportedDeclarations().keys()].sort()).toEqual([...CONTRACT_ENTRY_EXPORTS].sort());
  });

  it.each([
    ['import { defineService } from "mqtt-contracts";', true],
    ['import { defineService, type ServiceContract } from "mqtt-contracts";\nimport type { SchemaLike as S } from "mqtt-contracts";', true],
    ['import { z } from "zod";', true],
    ['import { defineService } from "mqtt-contracts/contract";', true],
    ['import { defineService, startBroker } from "mqtt-contracts";', false],
    ['import type { Communicator } from "mqtt-contracts";\nimport { defineService } from "mqtt-contracts";', false],
    ['import * as mc from "mqtt-contracts";', false],
    ['import mc, { defineService } from "mqtt-contracts";', false],
    ['export * from "mqtt-contracts";', false],
    ['export { defineService } from "mqtt-contracts";', true],
  ])("%s → %s", (text, expected) => {
    expect(needsOnlyContractEntry(parse(text))).toBe(expected);
  });
});

describe("codegen's type check", () => {
  let project: TempProject;
  beforeAll(async () => {
    project = await tempProject(["tsconfig.json"], "mqtt-contracts-resolution-");
    await mkdir(join(project.dir, "contracts"));
    const service = (name: string) => `export const ${name} = defineService({ name: "${name.toLowerCase()}", methods: { get: { params: z.object({ id: z.string() }), result: z.object({ n: z.number().optional() }) } } });`;
    await writeFile(join(project.dir, "contracts", "light.ts"), ['import { z } from "zod";', 'import { defineService } from "mqtt-contracts";', service("Light")].join("\n"));
    await writeFile(
      join(project.dir, "contracts", "full.ts"),
      ['import { z } from "zod";', 'import { defineService, type Communicator } from "mqtt-contracts";', "export type Uses = Communicator;", service("Full")].join("\n"),
    );
  });
  afterAll(() => project.remove());

  const programFiles = (contract: string) => {
    const ts = new Project({ compilerOptions: typeCheckSettings(project.dir).options, resolutionHost: contractResolution });
    ts.addSourceFileAtPath(join(project.dir, "contracts", contract));
    return ts.getProgram().compilerObject.getSourceFiles().map((file) => file.fileName);
  };

  it("reads the contract entry, not the runtime, for a contract that imports only defineService", () => {
    const files = programFiles("light.ts");
    expect(files.some((file) => file.endsWith("/src/contract/define-service.ts"))).toBe(true);
    expect(files.filter((file) => file.endsWith("/src/index.ts") || file.includes("/@types/node/"))).toEqual([]);
  });

  it("reads the runtime for a contract that imports more", () => {
    expect(programFiles("full.ts").some((file) => file.endsWith("/src/index.ts"))).toBe(true);
  });

  it("prints the same types either way", () => {
    const settings = typeCheckSettings(project.dir);
    const request = (file: string, exportName: string, io: "output" | "input") => ({ file: join(project.dir, "contracts", file), exportName, accessPath: ["methods", "get", "result"], zod: 4 as const, io, jsonSchema: {} });
    const [light, full] = printTypes(settings, [request("light.ts", "Light", "output"), request("full.ts", "Full", "output")]);
    expect(light).toBe("{\n  n?: number | undefined;\n}");
    expect(full).toBe(light);
  });
});
