/**
 * `mqtt-contracts codegen --watch` as a process of its own, in a copy of this project: edits, added,
 * deleted and renamed contracts, a broken contract beside good ones, and a changed import. Each step
 * waits for the watcher's report of that step; the end state is compared with a one-shot `--check`
 * without the cache, so incremental output must equal a full run's.
 */
import { existsSync } from "node:fs";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Children, type Child } from "./helpers/child-process.js";
import { codegenArgs, CODEGEN_TIMEOUT } from "./helpers/codegen-cli.js";
import { tempProject, type TempProject } from "./helpers/projects.js";

const children = new Children();
let project: TempProject;
beforeEach(async () => {
  project = await tempProject(["tsconfig.json", "contracts", "generated"], "mqtt-contracts-watch-");
});
afterEach(async () => {
  await children.killAll();
  await project.remove();
});

/** Run `action`, then wait for `pattern` in what the watcher prints after it. */
async function after(watch: Child, action: () => Promise<void>, pattern: RegExp, stream: "stdout" | "stderr" = "stdout"): Promise<string> {
  const from = (stream === "stdout" ? watch.stdout : watch.stderr).length;
  await action();
  const since = new RegExp(`^[\\s\\S]{${from}}([\\s\\S]*?${pattern.source})`);
  const match = stream === "stdout" ? await watch.waitForStdout(since, CODEGEN_TIMEOUT) : await watch.waitForStderr(since, CODEGEN_TIMEOUT);
  return match[1]!;
}

/** Save as editors do: write a new file beside, then rename it over the old one. */
async function save(path: string, text: string): Promise<void> {
  const temporary = join(project.dir, `.${Date.now()}.tmp`);
  await writeFile(temporary, text);
  await rename(temporary, path);
}

async function edit(path: string, from: string, to: string): Promise<void> {
  const text = await readFile(path, "utf8");
  expect(text).toContain(from);
  await save(path, text.replace(from, to));
}

async function startWatch(): Promise<Child> {
  const watch = children.start(process.execPath, codegenArgs("--watch"), { cwd: project.dir });
  await watch.waitForStdout(/codegen --watch: watching contracts\/ for changes/, CODEGEN_TIMEOUT);
  return watch;
}

async function stopAndCheck(watch: Child): Promise<void> {
  watch.process.kill("SIGINT");
  const exit = await watch.exit(CODEGEN_TIMEOUT);
  expect(exit.stdout).toContain("codegen --watch: SIGINT received; stopped.");
  expect(exit.code).toBe(0);
  // What the watcher left equals what a full run without the cache generates.
  const check = await children.start(process.execPath, codegenArgs("--check", "--no-cache"), { cwd: project.dir }).exit(CODEGEN_TIMEOUT);
  expect(check.stderr).toBe("");
  expect(check.code).toBe(0);
}

describe("codegen --watch, incremental", { timeout: 10 * CODEGEN_TIMEOUT }, () => {
  it("regenerates only a changed contract; an added, a renamed and a deleted contract update the index and AsyncAPI", async () => {
    const watch = await startWatch();
    const contracts = join(project.dir, "contracts");

    let report = await after(watch, () => edit(join(contracts, "example.ts"), '"Send a message back unchanged."', '"Echo, watched."'), /updated: generated\/asyncapi\.json\n/);
    expect(report).toContain("codegen --watch: 1 contract module checked, 2 files updated");
    expect(report).toContain("updated: generated/example.ts");
    expect(report).not.toContain("generated/inventory.ts"); // not loaded, not rewritten
    expect(await readFile(join(project.dir, "generated/example.ts"), "utf8")).toContain("Echo, watched.");

    const copy = (await readFile(join(contracts, "example.ts"), "utf8")).replace('name: "example"', 'name: "echo_two"').replace("export const ExampleService", "export const EchoTwoService");
    report = await after(watch, () => save(join(contracts, "echo-two.ts"), copy), /created: generated\/echo_two\.schema\.json\n/);
    expect(report).toContain("1 contract module checked");
    expect(report).toContain("updated: generated/index.ts");
    expect(await readFile(join(project.dir, "generated/index.ts"), "utf8")).toContain('export * from "./echo_two.js";');

    report = await after(watch, () => rename(join(contracts, "echo-two.ts"), join(contracts, "echo-renamed.ts")), /updated: generated\/echo_two\.ts\n/);
    expect(await readFile(join(project.dir, "generated/echo_two.ts"), "utf8")).toContain("from contracts/echo-renamed.ts. DO NOT EDIT.");

    report = await after(watch, () => rm(join(contracts, "echo-renamed.ts")), /removed: generated\/echo_two\.schema\.json\n/);
    expect(report).toContain("removed: generated/echo_two.ts");
    expect(existsSync(join(project.dir, "generated/echo_two.ts"))).toBe(false);
    expect(await readFile(join(project.dir, "generated/index.ts"), "utf8")).not.toContain("echo_two");

    await stopAndCheck(watch);
  });

  it("a broken contract reports its error and keeps its last good output while the others regenerate; a changed import regenerates its importers", async () => {
    const watch = await startWatch();
    const contracts = join(project.dir, "contracts");
    const exampleBefore = await readFile(join(project.dir, "generated/example.ts"), "utf8");

    const broken = await after(watch, () => edit(join(contracts, "example.ts"), 'z.string().describe("Text to echo")', "z.string"), /the last change did not generate for contracts\/example\.ts/, "stderr");
    expect(broken).toContain('contracts/example.ts: service "example", method "echo", field params.message: is the function z.string, not a schema: call it, z.string()');
    expect(await readFile(join(project.dir, "generated/example.ts"), "utf8")).toBe(exampleBefore);

    // Another contract still generates, and the broken one's output stays in the index.
    const inventory = join(contracts, "inventory.ts");
    const inventoryText = await readFile(inventory, "utf8");
    const description = /description: "([^"]+)"/.exec(inventoryText)![1]!;
    const report = await after(watch, () => edit(inventory, `description: "${description}"`, `description: "${description} (edited)"`), /updated: generated\/inventory\.ts\n/);
    // The broken one is tried again with every change (its problem may lie elsewhere) and still fails.
    expect(report).toContain("2 contract modules checked");
    expect(await readFile(join(project.dir, "generated/inventory.ts"), "utf8")).toContain(`${description} (edited)`);
    expect(await readFile(join(project.dir, "generated/index.ts"), "utf8")).toContain('export * from "./example.js";');
    expect(existsSync(join(project.dir, "generated/example.ts"))).toBe(true);

    // Fixed, and now taking its text from a helper module (not a contract: its name starts with __).
    await writeFile(join(contracts, "__texts.ts"), 'export const ECHO_TEXT = "Text to echo, from a helper";\n');
    const fixed = (await readFile(join(contracts, "example.ts"), "utf8")).replace("z.string }", "z.string().describe(ECHO_TEXT) }");
    await after(watch, () => save(join(contracts, "example.ts"), `import { ECHO_TEXT } from "./__texts.js";\n${fixed}`), /updated: generated\/example\.ts\n/);
    expect(await readFile(join(project.dir, "generated/example.ts"), "utf8")).toContain("Text to echo, from a helper");

    const changedImport = await after(watch, () => save(join(contracts, "__texts.ts"), 'export const ECHO_TEXT = "Text to echo, helper edited";\n'), /updated: generated\/example\.ts\n/);
    expect(changedImport).toContain("1 contract module checked");
    expect(await readFile(join(project.dir, "generated/example.ts"), "utf8")).toContain("Text to echo, helper edited");

    await stopAndCheck(watch);
  });
});
