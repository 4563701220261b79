/**
 * The package as a user gets it: `npm pack` of this checkout, installed with zod and TypeScript from the
 * registry into fresh projects, and driven only through `npx mqtt-contracts`, `tsc` and `node`, each a
 * process of its own. A file missing from the package, or a step the README does not show, fails here.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Children, repoRoot } from "./helpers/child-process.js";
import { bundleForBrowser, kib } from "./helpers/browser-bundle.js";
import { launchChromium, noChromium } from "./helpers/chromium.js";
import { installWithoutTreeWarnings, packCheckout, Shell } from "./helpers/consumer.js";

const children = new Children();
afterEach(() => children.killAll());

const starter = join(repoRoot, "examples/starter");
const fixtures = join(repoRoot, "test/fixtures/consumer");
/** The TypeScript the strict compile uses: the "user's TypeScript 5.x". TypeScript 7 checks the same project after it. */
const TYPESCRIPT_5 = "typescript@5.9";
const TYPESCRIPT_7 = "typescript7@npm:typescript@^7";
/** What `npx mqtt-contracts` runs, relative to the project. */
const MQTT_CONTRACTS_BIN = "node_modules/.bin/mqtt-contracts";

/** npm reaches the registry and tsc and codegen start new processes: minutes on a loaded 2-core machine, not the seconds they usually take. */
const SLOW = 600_000;

let workspace: string;
let tarball: string;

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), "mqtt-contracts-consumer-"));
  tarball = await packCheckout(new Shell(children, repoRoot));
}, SLOW);
afterAll(async () => {
  await children.killAll();
  if (workspace) await rm(workspace, { recursive: true, force: true });
  if (tarball) await rm(join(tarball, ".."), { recursive: true, force: true });
});

describe("the packed tarball", () => {
  it("holds the runtime, codegen, CLI, types, starter, README and LICENSE, and no tests, benchmarks or sources", async () => {
    const shell = new Shell(children, workspace);
    const listing = await shell.ok("tar", ["-tzf", tarball]);
    const files = listing.stdout.split("\n").filter(Boolean).map((path) => path.replace(/^package\//, ""));
    for (const expected of ["package.json", "README.md", "LICENSE", "bin/mqtt-contracts.js", "dist/ui/index.html", "dist/ui/app.js", "dist/ui/app.css", "dist/src/index.js", "dist/src/index.d.ts", "dist/src/browser.js", "dist/src/browser.d.ts", "dist/src/contract-entry.js", "dist/src/contract-entry.d.ts", "dist/codegen/index.js", "dist/codegen/index.d.ts", "dist/src/cli/main.js", "examples/starter/contracts/greeter.ts"]) {
      expect(files, expected).toContain(expected);
    }
    expect(files.filter((path) => /^(test|bench|src|codegen|contracts|generated)\//.test(path) || /\.test\.|\.map$|fixtures/.test(path))).toEqual([]);
  });
});

describe("a fresh project: npm init, npm install <tarball> zod typescript, a contract, codegen, tsc, two agents", () => {
  let shell: Shell;

  beforeAll(async () => {
    const dir = join(workspace, "my-agents");
    await mkdir(dir);
    shell = new Shell(children, dir);
    await shell.ok("npm", ["init", "-y"]);
    await shell.ok("npm", ["pkg", "set", "type=module"]);
    await installWithoutTreeWarnings(shell, [tarball, "zod", TYPESCRIPT_5, TYPESCRIPT_7]);
    await cp(join(starter, "contracts"), join(dir, "contracts"), { recursive: true });
  }, SLOW);

  it("codegen runs with no tsconfig.json, then tsc compiles everything under strict flags (TypeScript 5 and 7)", { timeout: SLOW }, async () => {
    const codegen = await shell.ok("npx", ["mqtt-contracts", "codegen"]);
    expect(codegen.stdout).toMatch(/^codegen: 4 files in generated\/, 4 updated, in \d+ ms\.\n {2}created: generated\/greeter\.ts\n/);
    expect(codegen.stderr).toBe("");
    const generated = await readFile(join(shell.cwd, "generated/greeter.ts"), "utf8");
    expect(generated).toContain('from "mqtt-contracts";');
    expect(generated).toContain('import { GreeterService } from "../contracts/greeter.js";');

    await cp(join(starter, "tsconfig.json"), join(shell.cwd, "tsconfig.json"));
    await cp(join(starter, "agents"), join(shell.cwd, "agents"), { recursive: true });
    await cp(join(fixtures, "type-errors.ts"), join(shell.cwd, "agents/type-errors.ts"));
    const tsconfig = JSON.parse(await readFile(join(shell.cwd, "tsconfig.json"), "utf8")) as { compilerOptions: Record<string, unknown> };
    expect(tsconfig.compilerOptions).toMatchObject({ strict: true, exactOptionalPropertyTypes: true, verbatimModuleSyntax: true, noUncheckedIndexedAccess: true, module: "NodeNext" });

    const tsc5 = await shell.run("npx", ["tsc", "-p", "."]);
    expect(`${tsc5.stdout}${tsc5.stderr}`).toBe("");
    expect(tsc5.code).toBe(0);
    expect((await shell.ok("npx", ["tsc", "--version"])).stdout).toMatch(/^Version 5\.9\./);

    // type-errors.ts compiles only while each @ts-expect-error line is an error: a missing handler, a wrong param type, a wrong result type.
    const tsc7 = await shell.run("node", ["node_modules/typescript7/bin/tsc", "-p", ".", "--noEmit"]);
    expect(`${tsc7.stdout}${tsc7.stderr}`).toBe("");
    expect(tsc7.code).toBe(0);
  });

  it("runs the server and the client as separate processes over `npx mqtt-contracts broker`", { timeout: SLOW }, async () => {
    // Long-running commands run from node_modules/.bin: npx does not pass SIGINT or SIGTERM on to its command.
    const broker = shell.start(MQTT_CONTRACTS_BIN, ["broker", "--port", "0"]);
    const [, url] = await broker.waitForStdout(/listening on (mqtt:\/\/127\.0\.0\.1:\d+)/, 60_000);
    const env = { MQTT_URL: url! };

    const server = shell.start("node", ["build/agents/server.js"], env);
    await server.waitForStdout(/server: greeter is serving/, 60_000);

    const client = await shell.run("node", ["build/agents/client.js"], env);
    expect(client.stderr).toBe("");
    expect(client.stdout).toMatchInlineSnapshot(`
      "client: Hello, Ada! (greeting #1)
      client: countdown 3 2 1, done: true
      client: ValidationError -32602: Invalid params for greeter.greet: name: Too small: expected string to have >=1 characters
      "
    `);
    expect(client.code).toBe(0);

    // The server validates too: the CLI sends what the typed client refused to.
    const call = await shell.run("npx", ["mqtt-contracts", "call", "greeter", "greet", '{"name":""}', "--url", url!]);
    expect(call.code).toBe(1);
    expect(call.stderr).toContain("greeter answered greet with error -32602 (InvalidParams)");
    const good = await shell.run("npx", ["mqtt-contracts", "call", "greeter", "greet", '{"name":"Grace"}', "--url", url!]);
    expect(good.stdout).toBe('{"greeting":"Hello, Grace!","count":2}\n');
    expect(good.code).toBe(0);

    // What runs on the broker, as the installed package sees it: its record, its contract, its counters.
    const ls = await shell.run("npx", ["mqtt-contracts", "ls", "--url", url!]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^PREFIX\s+AGENT\s+METHODS\s+STREAMING\s+NOTIFICATIONS\s+INSTANCES\s+ROUTING$/m);
    expect(ls.stdout).toMatch(/^greeter\s+greeter\s+\d+\s+countdown\s+\d+\s+1\s+no group$/m);
    expect(ls.stdout).toMatch(/mqtt-contracts@\d+\.\d+\.\d+/);
    const describe = await shell.run("npx", ["mqtt-contracts", "describe", "greeter", "greet", "--url", url!]);
    expect(describe.code).toBe(0);
    expect(describe.stdout).toContain("method greet");
    expect(describe.stdout).toMatch(/params: \{ name: string/);
    const stats = await shell.run("npx", ["mqtt-contracts", "stats", "greeter", "--url", url!]);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/\sgreet\s+3\s+1\s/);

    // The same server in OpenMAS's built-in format, configured the standard way, and the CLI speaking it.
    const openmas = shell.start("node", ["build/agents/server.js"], { ...env, AGENT_NAME: "greeter_om", COMMUNICATOR_OPTIONS: '{"wireFormat":"openmas"}' });
    await openmas.waitForStdout(/server: greeter is serving/, 60_000);
    const viaOpenMas = await shell.run("npx", ["mqtt-contracts", "call", "greeter_om", "greet", '{"name":"Lin"}', "--wire-format", "openmas", "--url", url!]);
    expect(viaOpenMas.stderr).toBe("");
    expect(viaOpenMas.stdout).toBe('{"greeting":"Hello, Lin!","count":1}\n');
    const invalidViaOpenMas = await shell.run("npx", ["mqtt-contracts", "call", "greeter_om", "greet", '{"name":""}', "--wire-format", "openmas", "--url", url!]);
    expect(invalidViaOpenMas.code).toBe(1);
    expect(invalidViaOpenMas.stderr).toContain("greeter_om answered greet with error -32602 (InvalidParams; OpenMAS code 422)");
    openmas.process.kill("SIGTERM");
    expect((await openmas.exit(60_000)).code).toBe(0);

    server.process.kill("SIGTERM");
    const stopped = await server.exit(60_000);
    expect(stopped.stdout).toContain("server: caller waved\n");
    expect(stopped.stdout).toContain("server: stopped\n");
    expect(stopped.code).toBe(0);
  });

  it.skipIf(noChromium !== undefined)("`npx mqtt-contracts ui` serves the page from the package, and Chromium lists the live greeter service", { timeout: SLOW }, async () => {
    const broker = shell.start(MQTT_CONTRACTS_BIN, ["broker", "--port", "0", "--ws-port", "0"]);
    const [, url, wsUrl] = await broker.waitForStdout(/listening on (mqtt:\/\/127\.0\.0\.1:\d+) .* and (ws:\/\/127\.0\.0\.1:\d+)/, 60_000);
    const server = shell.start("node", ["build/agents/server.js"], { MQTT_URL: url! });
    await server.waitForStdout(/server: greeter is serving/, 60_000);
    const chromium = await launchChromium();
    try {
      const page = await chromium.newPage();
      // From typing the command to the service on screen: npx, the server, the page, its WebSocket and the records.
      const started = performance.now();
      const ui = shell.start("npx", ["mqtt-contracts", "ui", "--url", wsUrl!, "--port", "0"]);
      const [, pageUrl] = await ui.waitForStdout(/mqtt-contracts ui on (http:\/\/127\.0\.0\.1:\d+\/)/, 60_000);
      await page.goto(pageUrl!);
      await page.locator('#services li.service-entry[data-prefix="greeter"] .instance-entry').waitFor({ timeout: 60_000 });
      const listedMs = performance.now() - started;
      console.log(`npx mqtt-contracts ui: greeter listed in the browser ${Math.round(listedMs)} ms after the command started`);
      await page.locator('#services li.service-entry[data-prefix="greeter"] button.select-service').click();
      await page.locator('#detail details.method[data-method="greet"]').waitFor({ timeout: 60_000 });
    } finally {
      await chromium.close();
    }
  });

  it("importing the runtime loads neither ts-morph, TypeScript, tsx nor aedes", { timeout: SLOW }, async () => {
    for (const file of ["record-loads.mjs", "record-loads-hooks.mjs", "import-runtime.mjs"]) await cp(join(fixtures, file), join(shell.cwd, file));
    const run = await shell.ok("node", ["--import", "./record-loads.mjs", "import-runtime.mjs"]);
    const report = JSON.parse(run.stdout) as { exports: number; modules: string[] };
    expect(report.exports).toBeGreaterThan(30);
    const packages = new Set(report.modules.flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []));
    expect(packages.has("mqtt-contracts") && packages.has("mqtt") && packages.has("zod")).toBe(true);
    for (const heavy of ["ts-morph", "@ts-morph/common", "typescript", "tsx", "esbuild", "aedes", "zod-to-json-schema"]) expect(packages, heavy).not.toContain(heavy);
  });

  it("bundles the generated client for a browser with esbuild: the installed package's browser entry, no Node built-in", { timeout: SLOW }, async () => {
    await writeFile(
      join(shell.cwd, "page.ts"),
      [
        'import { MqttCommunicator } from "mqtt-contracts";',
        'import { GreeterServiceClient } from "./generated/index.js";',
        'const communicator = new MqttCommunicator({ agentName: "page", serviceUrls: { greeter: "greeter" }, options: { url: "ws://127.0.0.1:9001" } });',
        'export const greet = async (name: string) => (await communicator.start(), new GreeterServiceClient(communicator, "greeter").greet({ name }));',
        "",
      ].join("\n"),
    );
    // No source condition: what a user's bundler sees, the `browser` condition of the installed package's exports.
    const bundle = await bundleForBrowser("page.ts", { cwd: shell.cwd });
    console.log(`the installed package's browser bundle of the greeter client: ${kib(bundle.minified)}, ${kib(bundle.gzipped)} gzipped`);
    expect(bundle.builtins).toEqual([]);
    expect(bundle.inputs).toContain("node_modules/mqtt-contracts/dist/src/browser.js");
    expect(bundle.inputs).not.toContain("node_modules/mqtt-contracts/dist/src/index.js");
    expect(bundle.inputs.filter((input) => /mqtt-contracts\/dist\/(src\/(broker|cli|agent|plugins)|codegen)\/|node_modules\/(aedes|ws|ts-morph|typescript)\//.test(input))).toEqual([]);
  });

  it("turns a call away with OverloadedError under overload: \"reject\", and names a bad overload value", { timeout: SLOW }, async () => {
    await cp(join(fixtures, "overload.mjs"), join(shell.cwd, "overload.mjs"));
    const run = await shell.ok("node", ["overload.mjs"]);
    const report = JSON.parse(run.stdout) as { firstResult: unknown; overloaded: boolean; retryable: boolean; code: number; badOption: { configurationError: boolean; message: string } };
    expect(report).toMatchObject({ firstResult: { done: true }, overloaded: true, retryable: true, code: -32001 });
    expect(report.badOption.configurationError).toBe(true);
    expect(report.badOption.message).toContain("overload");
    expect(report.badOption.message).toContain('"drop"');
  });

  it("generates from this repository's contracts exactly what is committed in generated/", { timeout: SLOW }, async () => {
    // In a folder of its own, under the same names as here: the committed headers name contracts/<file>.
    const mirror = shell.in("repo-copy");
    await cp(join(repoRoot, "contracts"), join(mirror.cwd, "contracts"), { recursive: true });
    await cp(join(repoRoot, "generated"), join(mirror.cwd, "generated"), { recursive: true });
    const check = await mirror.run("node", [join(shell.cwd, MQTT_CONTRACTS_BIN), "codegen", "--check"]);
    expect(check.stderr).toBe("");
    expect(check.stdout).toBe("codegen --check: 10 files in generated/ are up to date.\n");
    expect(check.code).toBe(0);
  });

  it("reads .ts, .mts, .js and .mjs contracts", { timeout: SLOW }, async () => {
    await cp(join(fixtures, "formats"), join(shell.cwd, "formats"), { recursive: true });
    const run = await shell.ok("npx", ["mqtt-contracts", "codegen", "--contracts", "formats", "--out", "formats-generated"]);
    expect(run.stdout).toContain("codegen: 10 files in formats-generated/, 10 updated");
    const index = await readFile(join(shell.cwd, "formats-generated/index.ts"), "utf8");
    expect(index).toContain('export * from "./alpha.js";\nexport * from "./beta.js";\nexport * from "./delta.js";\nexport * from "./gamma.js";');
    expect(await readFile(join(shell.cwd, "formats-generated/beta.ts"), "utf8")).toContain('import { BetaService } from "../formats/beta.mjs";');
    expect(await readFile(join(shell.cwd, "formats-generated/gamma.ts"), "utf8")).toContain("export type GammaPingResult = 'gamma';");
  });

  it("generates the same code under the usual tsconfigs: nodenext, node16, bundler, outDir without rootDir, strict off", { timeout: SLOW }, async () => {
    const variants: Record<string, unknown>[] = [
      { module: "nodenext", outDir: "out" },
      { module: "node16", moduleResolution: "node16", strict: true, rootDir: ".", outDir: "out" },
      { module: "preserve", moduleResolution: "bundler", noEmit: true },
      { module: "esnext", moduleResolution: "bundler", outDir: "dist" },
      { module: "commonjs", strict: false, outDir: "lib" },
    ];
    const tsconfig = join(shell.cwd, "tsconfig.json");
    const original = await readFile(tsconfig, "utf8");
    try {
      for (const compilerOptions of variants) {
        await writeFile(tsconfig, JSON.stringify({ compilerOptions, include: ["contracts", "generated", "agents"] }));
        const check = await shell.run("npx", ["mqtt-contracts", "codegen", "--check"]);
        expect({ compilerOptions, stderr: check.stderr, code: check.code }).toEqual({ compilerOptions, stderr: "", code: 0 });
      }
    } finally {
      await writeFile(tsconfig, original);
    }
  });

  it("names each contract mistake with its file, service, member and field, exits 1, and prints no stack trace", { timeout: SLOW }, async () => {
    await cp(join(fixtures, "bad"), join(shell.cwd, "bad"), { recursive: true });
    // A second copy of zod, of another version, for bad/second-zod.
    await cp(join(shell.cwd, "node_modules/zod"), join(shell.cwd, "zod-copy"), { recursive: true });
    for (const file of ["v4/core/versions.js", "v4/core/versions.cjs"]) {
      const path = join(shell.cwd, "zod-copy", file);
      await writeFile(path, (await readFile(path, "utf8")).replace(/minor: \d+/, "minor: 0"));
    }
    const expected: Record<string, string> = {
      uncalled: 'bad/uncalled/counter.ts: service "counter", method "add", field params.by: is the function z.number, not a schema: call it, z.number()',
      throws: "bad/throws/boom.ts: cannot be imported: BOOM_SERVICE_NAME is not set",
      "missing-import": "bad/missing-import/needs.ts: cannot be imported: Cannot find package 'no-such-package-for-mqtt-contracts' imported from bad/missing-import/needs.ts",
      "second-zod": 'bad/second-zod/other.ts: service "other", method "ping", field params: was built by a second copy of zod (version 4.0.',
    };
    const problems: Record<string, number> = { "second-zod": 2 }; // its params and its result
    for (const [name, message] of Object.entries(expected)) {
      const run = await shell.run("npx", ["mqtt-contracts", "codegen", "--contracts", `bad/${name}`, "--out", `bad-generated/${name}`]);
      expect({ name, code: run.code, stdout: run.stdout }).toEqual({ name, code: 1, stdout: "" });
      const count = problems[name] ?? 1;
      expect(run.stderr).toContain(`codegen: ${count} problem${count === 1 ? "" : "s"} in contracts:\n  ${message}`);
      expect(run.stderr).toContain("codegen: nothing was written.");
      expect(run.stderr).not.toMatch(/^\s+at /m);
    }
  });

  it("--watch regenerates a changed, an added, a renamed and a deleted contract and a changed import, and survives a broken edit", { timeout: SLOW }, async () => {
    const watch = shell.start(MQTT_CONTRACTS_BIN, ["codegen", "--watch"]);
    await watch.waitForStdout(/codegen --watch: watching contracts\/ for changes/, 120_000);
    /** Do `action`, then wait for `pattern` in what the watcher prints after it. */
    const after = async (action: () => Promise<unknown>, pattern: RegExp, stream: "stdout" | "stderr" = "stdout") => {
      const from = (stream === "stdout" ? watch.stdout : watch.stderr).length;
      await action();
      const since = new RegExp(`^[\\s\\S]{${from}}[\\s\\S]*?${pattern.source}`);
      await (stream === "stdout" ? watch.waitForStdout(since, 120_000) : watch.waitForStderr(since, 120_000));
    };

    const contracts = join(shell.cwd, "contracts");
    const contract = join(contracts, "greeter.ts");
    const original = await readFile(contract, "utf8");
    try {
      await after(() => writeFile(contract, original.replace("Say hello to someone.", "Say hello, watched.")), /updated: generated\/greeter\.ts/);
      expect(await readFile(join(shell.cwd, "generated/greeter.ts"), "utf8")).toContain("Say hello, watched.");

      await after(() => writeFile(contract, original.replace('z.string().min(1).describe("Who to greet")', "z.string")), /the last change did not generate/, "stderr");
      expect(watch.stderr).toContain('contracts/greeter.ts: service "greeter", method "greet", field params.name: is the function z.string, not a schema');
      expect(await readFile(join(shell.cwd, "generated/greeter.ts"), "utf8")).toContain("Say hello, watched."); // the last good output stays

      // Fixed, with its description from a helper module beside it (not a contract: its name starts with __).
      await writeFile(join(contracts, "__texts.ts"), 'export const GREET = "Say hello, from a helper.";\n');
      await after(() => writeFile(contract, `import { GREET } from "./__texts.js";\n${original.replace('"Say hello to someone."', "GREET")}`), /updated: generated\/greeter\.ts/);
      await after(() => writeFile(join(contracts, "__texts.ts"), 'export const GREET = "Say hello, helper edited.";\n'), /updated: generated\/greeter\.ts/);
      expect(await readFile(join(shell.cwd, "generated/greeter.ts"), "utf8")).toContain("Say hello, helper edited.");

      const copy = original.replace('name: "greeter"', 'name: "greeter_two"').replace(/export const (\w+)/, "export const GreeterTwo");
      await after(() => writeFile(join(contracts, "greeter-two.ts"), copy), /created: generated\/greeter_two\.schema\.json/);
      await after(() => rename(join(contracts, "greeter-two.ts"), join(contracts, "greeter-renamed.ts")), /updated: generated\/greeter_two\.ts/);
      expect(await readFile(join(shell.cwd, "generated/greeter_two.ts"), "utf8")).toContain("from contracts/greeter-renamed.ts.");
      await after(() => rm(join(contracts, "greeter-renamed.ts")), /removed: generated\/greeter_two\.schema\.json/);
      expect(await readFile(join(shell.cwd, "generated/index.ts"), "utf8")).not.toContain("greeter_two");
    } finally {
      await after(async () => {
        await rm(join(contracts, "__texts.ts"), { force: true });
        await writeFile(contract, original);
      }, /updated: generated\/greeter\.ts/);
    }
    watch.process.kill("SIGINT");
    expect((await watch.exit(60_000)).code).toBe(0);
    expect((await shell.run("npx", ["mqtt-contracts", "codegen", "--check", "--no-cache"])).code).toBe(0);
  });

  it("reuses unchanged contracts from node_modules/.cache, ignores a corrupt cache, and --check works after a cached run", { timeout: SLOW }, async () => {
    await shell.ok("npx", ["mqtt-contracts", "codegen"]);
    const cached = await shell.ok("npx", ["mqtt-contracts", "codegen"]);
    expect(cached.stdout).toMatch(/^codegen: 4 files in generated\/, 0 updated, in \d+ ms\.\n {2}cache: 1 of 1 contract modules unchanged, reused\n$/);
    const check = await shell.run("npx", ["mqtt-contracts", "codegen", "--check"]);
    expect(check.stdout).toBe("codegen --check: 4 files in generated/ are up to date.\n");
    expect(check.code).toBe(0);

    const cacheDir = join(shell.cwd, "node_modules/.cache/mqtt-contracts");
    const [file] = (await readdir(cacheDir)).filter((name) => name.endsWith(".json"));
    await writeFile(join(cacheDir, file!), "{ not json");
    await rm(join(shell.cwd, "generated/greeter.ts"));
    const repaired = await shell.ok("npx", ["mqtt-contracts", "codegen"]);
    expect(repaired.stderr).toMatch(/codegen: cache: ignored .*: not JSON/);
    expect(repaired.stdout).toContain("  created: generated/greeter.ts\n");
    expect(repaired.stdout).toContain("  cache: 0 of 1 contract modules unchanged, reused\n");
    expect((await shell.run("npx", ["mqtt-contracts", "codegen", "--check", "--no-cache"])).code).toBe(0);
  });
});

describe("npx mqtt-contracts init", () => {
  it("scaffolds a project where npm install, npm run codegen and npm start run both agents and exit 0", { timeout: SLOW }, async () => {
    // The scaffold names the tarball as its dependency: the package is not on the registry yet.
    const shell = new Shell(children, workspace);
    await shell.ok("npm", ["exec", "--yes", `--package=${tarball}`, "--", "mqtt-contracts", "init", "demo", "--dependency", tarball]);
    const demo = shell.in("demo");
    const manifest = JSON.parse(await readFile(join(demo.cwd, "package.json"), "utf8")) as Record<string, Record<string, string>>;
    expect(manifest.scripts).toMatchObject({ codegen: "mqtt-contracts codegen", start: "tsx agents/main.ts" });
    expect(manifest.dependencies!["mqtt-contracts"]).toBe(`file:${tarball}`);

    await installWithoutTreeWarnings(demo, []);
    await demo.ok("npm", ["run", "codegen"]);
    const start = await demo.ok("npm", ["start"]);
    expect(start.stdout).toContain("server: caller waved\nclient: Hello, Ada! (greeting #1)\nclient: countdown 3 2 1, done: true\nclient: ValidationError -32602");
    expect(start.stdout).toMatch(/main: both agents talked over the embedded broker at mqtt:\/\/127\.0\.0\.1:\d+/);
    const typecheck = await demo.run("npm", ["run", "typecheck"]);
    expect(typecheck.code).toBe(0);

    const again = await shell.run("npm", ["exec", "--yes", `--package=${tarball}`, "--", "mqtt-contracts", "init", "demo"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("mqtt-contracts init: demo is not empty (");
  });
});
