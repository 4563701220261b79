/**
 * The codegen cache, through `mqtt-contracts codegen` processes in a copy of this project: reuse when
 * nothing changed, a changed contract or a changed import regenerated, a corrupt, tampered or foreign
 * cache ignored (and the output still right), `--check` after a cached run, a tsconfig's `extends` chain,
 * and `--no-cache`.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Children } from "./helpers/child-process.js";
import { codegenArgs, CODEGEN_TIMEOUT } from "./helpers/codegen-cli.js";
import { tempProject, type TempProject } from "./helpers/projects.js";

const children = new Children();
let project: TempProject;
beforeEach(async () => {
  project = await tempProject(["tsconfig.json", "contracts", "generated"], "mqtt-contracts-cache-");
});
afterEach(async () => {
  await children.killAll();
  await project.remove();
});

const codegen = (...args: string[]) => children.start(process.execPath, codegenArgs(...args), { cwd: project.dir }).exit(CODEGEN_TIMEOUT);
const cacheDir = () => join(project.dir, "node_modules/.cache/mqtt-contracts");
async function cacheFile(): Promise<string> {
  const files = (await readdir(cacheDir())).filter((name) => name.endsWith(".json"));
  expect(files).toHaveLength(1);
  return join(cacheDir(), files[0]!);
}
async function edit(path: string, from: string, to: string): Promise<void> {
  const text = await readFile(join(project.dir, path), "utf8");
  expect(text).toContain(from);
  await writeFile(join(project.dir, path), text.replace(from, to));
}
/** The whole output folder, after a run without the cache: what every cached run must equal. */
async function expectUpToDateWithoutCache(): Promise<void> {
  const check = await codegen("--check", "--no-cache");
  expect(check.stderr).toBe("");
  expect(check.code).toBe(0);
}

describe("the codegen cache", { timeout: 10 * CODEGEN_TIMEOUT }, () => {
  it("reuses unchanged contracts, regenerates a changed one and one whose import changed, and --check works after a cached run", async () => {
    const first = await codegen();
    expect(first.stdout).toContain("  cache: 0 of 4 contract modules unchanged, reused\n");
    expect(first.code).toBe(0);

    const again = await codegen();
    expect(again.stdout).toMatch(/^codegen: 10 files in generated\/, 0 updated, in \d+ ms\.\n {2}cache: 4 of 4 contract modules unchanged, reused\n$/);
    expect(again.stderr).toBe("");

    const check = await codegen("--check");
    expect(check.stdout).toBe("codegen --check: 10 files in generated/ are up to date.\n");
    expect(check.code).toBe(0);

    await edit("contracts/example.ts", '"Send a message back unchanged."', '"Sent back from a cached run."');
    const stale = await codegen("--check");
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("  changed: generated/example.ts\n  changed: generated/asyncapi.json\n");
    expect(await readFile(join(project.dir, "generated/example.ts"), "utf8")).not.toContain("Sent back from a cached run.");

    const changed = await codegen();
    expect(changed.stdout).toContain("  updated: generated/example.ts\n");
    // The --check before generated the changed contract in memory and put it in the cache: nothing left to load.
    expect(changed.stdout).toContain("  cache: 4 of 4 contract modules unchanged, reused\n");
    expect(await readFile(join(project.dir, "generated/example.ts"), "utf8")).toContain("Sent back from a cached run.");
    await expectUpToDateWithoutCache();

    // A helper module (not a contract: its name starts with __) that example.ts imports.
    await writeFile(join(project.dir, "contracts/__texts.ts"), 'export const ECHO = "Echo text, first";\n');
    const source = await readFile(join(project.dir, "contracts/example.ts"), "utf8");
    await writeFile(join(project.dir, "contracts/example.ts"), `import { ECHO } from "./__texts.js";\n${source.replace('"Sent back from a cached run."', "ECHO")}`);
    expect((await codegen()).code).toBe(0);
    await writeFile(join(project.dir, "contracts/__texts.ts"), 'export const ECHO = "Echo text, second";\n');
    const importChanged = await codegen();
    expect(importChanged.stdout).toContain("  cache: 3 of 4 contract modules unchanged, reused\n");
    expect(await readFile(join(project.dir, "generated/example.ts"), "utf8")).toContain("Echo text, second");
    await expectUpToDateWithoutCache();
  });

  it("ignores a corrupt, a tampered and a foreign cache, says so, and still writes the right output", async () => {
    expect((await codegen()).code).toBe(0);
    const path = await cacheFile();
    const good = await readFile(path, "utf8");

    const cases: [string, string, RegExp][] = [
      ["not JSON", good.slice(0, good.length / 2), /ignored .*: not JSON/],
      // Valid JSON and the right shape, a generated file changed inside it: the checksum no longer matches.
      ["tampered", good.replace("Send a message back unchanged.", "Tampered with in the cache."), /ignored .*: its checksum does not match its content/],
      ["foreign", JSON.stringify({ format: 99, entries: {} }), /ignored .*: not a codegen cache of format 1/],
      ["another root", good.replace(JSON.stringify(project.dir), JSON.stringify("/somewhere/else")), /ignored .*: (its checksum does not match|written for another project)/],
    ];
    for (const [name, text, note] of cases) {
      await writeFile(path, text);
      await rm(join(project.dir, "generated/example.ts"));
      const run = await codegen();
      expect({ name, code: run.code }).toEqual({ name, code: 0 });
      expect(run.stderr, name).toMatch(note);
      expect(run.stdout, name).toContain("  cache: 0 of 4 contract modules unchanged, reused\n");
      expect(await readFile(join(project.dir, "generated/example.ts"), "utf8"), name).not.toContain("Tampered");
      await expectUpToDateWithoutCache();
      // The run replaced the bad cache with a good one.
      expect((await codegen()).stdout, name).toContain("  cache: 4 of 4 contract modules unchanged, reused\n");
    }
  });

  it("misses when a tsconfig the project's extends changes, however deep", async () => {
    await writeFile(join(project.dir, "tsconfig.base.json"), '{ "extends": "./tsconfig.root.json" }\n');
    await writeFile(join(project.dir, "tsconfig.root.json"), '{ "compilerOptions": {} }\n');
    await edit("tsconfig.json", '{\n  "compilerOptions": {', '{\n  "extends": "./tsconfig.base.json",\n  "compilerOptions": {');
    expect((await codegen()).code).toBe(0);
    expect((await codegen()).stdout).toContain("  cache: 4 of 4 contract modules unchanged, reused\n");
    // Two levels down: a base of the base.
    await writeFile(join(project.dir, "tsconfig.root.json"), '{ "compilerOptions": { "experimentalDecorators": false } }\n');
    const changed = await codegen();
    expect(changed.stdout).toContain("  cache: 0 of 4 contract modules unchanged, reused\n");
    expect(changed.code).toBe(0);
    await expectUpToDateWithoutCache();
  });

  it("--no-cache neither reads nor writes a cache; --cache-dir names where it lives", async () => {
    const run = await codegen("--no-cache");
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain("cache:");
    expect(existsSync(cacheDir())).toBe(false);

    const elsewhere = await codegen("--cache-dir", ".codegen-cache");
    expect(elsewhere.stdout).toContain("  cache: 0 of 4 contract modules unchanged, reused\n");
    expect((await readdir(join(project.dir, ".codegen-cache"))).filter((name) => name.endsWith(".json"))).toHaveLength(1);
    expect((await codegen("--cache-dir", ".codegen-cache")).stdout).toContain("  cache: 4 of 4 contract modules unchanged, reused\n");
  });
});
