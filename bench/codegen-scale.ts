/**
 * Codegen at scale: 100 services × 20 methods, in one run.
 *
 *   npm run bench:codegen [-- --services 100 --methods 20 --runs 3 --small 5x3 --clients --baseline <checkout>]
 *
 * In a throwaway project where mqtt-contracts is installed as users get it (this checkout compiled, as
 * `npm pack` would ship it: JavaScript and declarations) and `mqtt-contracts codegen` runs from that
 * build, measures:
 *  1. a cold `mqtt-contracts codegen` (no cache, no generated/), a process from start to exit;
 *  2. the same again with nothing changed (served by the cache);
 *  3. `codegen --watch`: from writing one changed contract to the watcher's report, which comes after
 *     the last file is written;
 *  4. `tsc --noEmit` of the contracts alone, the type checker's own work that a cold run cannot avoid;
 *  5. a cold run on a small project (`--small`, default 5 × 3).
 * With `--clients`, also `tsc --noEmit` of calls through the generated clients against the same calls
 * on `z.infer` chains. With `--baseline <checkout>` (another commit's clone), rows 1, 2, 4 and 5 run for
 * that checkout's codegen and declarations too, interleaved with this tree's, and a second table gives
 * the ratios. Medians of `--runs`; writes bench/results/codegen-scale.md (or `--results <file>`).
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { callsThroughClients, callsThroughInference, contractSource } from "./lib/codegen-project.js";

const repo = resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    services: { type: "string", default: "100" },
    methods: { type: "string", default: "20" },
    runs: { type: "string", default: "3" },
    small: { type: "string", default: "5x3" },
    clients: { type: "boolean", default: false },
    results: { type: "string", default: join(repo, "bench", "results", "codegen-scale.md") },
    keep: { type: "boolean", default: false },
    baseline: { type: "string" },
  },
});
const services = Number(values.services);
const methods = Number(values.methods);
const runs = Number(values.runs);
const [smallServices, smallMethods] = values.small.split("x").map(Number) as [number, number];
for (const [name, value] of Object.entries({ services, methods, runs, smallServices, smallMethods })) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`bench:codegen: ${name} must be a positive integer, got ${String(value)}`);
}

const work = mkdtempSync(join(tmpdir(), "mqtt-contracts-codegen-bench-"));
const log = (message: string) => console.error(`[bench:codegen] ${message}`);
const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");
/** The compiled package, with a node_modules beside it (this checkout's) for its own dependencies. */
const pkg = join(work, "mqtt-contracts");
const cli = [join(pkg, "src", "cli", "main.js"), "codegen"];
/** The baseline checkout's package, compiled the same way, and its CLI. */
const baselinePkg = join(work, "baseline");
const baselineCli = [join(baselinePkg, "src", "cli", "main.js"), "codegen"];

const COMPILER_OPTIONS = { target: "ES2022", lib: ["ES2024"], module: "NodeNext", moduleResolution: "NodeNext", types: ["node"], strict: true, skipLibCheck: true, noEmit: true, isolatedModules: true, verbatimModuleSyntax: true };

/** Compile checkout `from` as `npm pack` ships it (`tsc -p tsconfig.build.json`) into `into`, a package named mqtt-contracts. */
function buildPackage(from = repo, into = pkg): void {
  // A checkout without node_modules (a fresh clone of another commit) compiles against this one's.
  const linked = !existsSync(join(from, "node_modules"));
  if (linked) symlinkSync(join(repo, "node_modules"), join(from, "node_modules"));
  try {
    execFileSync(process.execPath, [tsc, "-p", join(from, "tsconfig.build.json"), "--outDir", into], { cwd: from, stdio: "inherit" });
  } finally {
    if (linked) rmSync(join(from, "node_modules"));
  }
  const manifest = JSON.parse(readFileSync(join(from, "package.json"), "utf8")) as { version: string; exports: Record<string, string | { types?: string; default?: string }> };
  // The package's own export map, pointed at the compiled files (`./dist/src/x.js` is `./src/x.js` here).
  const exports = Object.fromEntries(
    Object.entries(manifest.exports).flatMap(([path, target]) =>
      typeof target === "object" && target.types && target.default ? [[path, { types: target.types.replace("./dist/", "./"), default: target.default.replace("./dist/", "./") }]] : [],
    ),
  );
  writeFileSync(join(into, "package.json"), JSON.stringify({ name: "mqtt-contracts", version: manifest.version, type: "module", exports }));
  if (!existsSync(join(work, "node_modules"))) symlinkSync(join(repo, "node_modules"), join(work, "node_modules"));
}

/** The project's node_modules: this checkout's dependencies, and mqtt-contracts as the compiled package. */
function installPackages(project: string, mqttContracts: string): void {
  mkdirSync(join(project, "node_modules"));
  for (const entry of readdirSync(join(repo, "node_modules"))) {
    if (entry !== ".bin" && entry !== ".cache" && entry !== "mqtt-contracts") symlinkSync(join(repo, "node_modules", entry), join(project, "node_modules", entry));
  }
  symlinkSync(mqttContracts, join(project, "node_modules", "mqtt-contracts"));
}

function makeProject(name: string, serviceCount: number, methodCount: number, mqttContracts = pkg): string {
  const dir = join(work, name);
  mkdirSync(join(dir, "contracts"), { recursive: true });
  for (let s = 0; s < serviceCount; s++) writeFileSync(join(dir, "contracts", `svc${s}.ts`), contractSource(s, methodCount));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, type: "module", private: true }));
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: COMPILER_OPTIONS, include: ["contracts"] }, null, 2));
  installPackages(dir, mqttContracts);
  return dir;
}

function time(cwd: string, command: string, args: string[]): number {
  const started = performance.now();
  execFileSync(command, args, { cwd, stdio: ["ignore", "ignore", "inherit"] });
  return performance.now() - started;
}

function coldRun(dir: string, command = cli): number {
  rmSync(join(dir, "generated"), { recursive: true, force: true });
  rmSync(join(dir, "node_modules", ".cache"), { recursive: true, force: true });
  return time(dir, process.execPath, command);
}

function median(list: number[]): number {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Start `codegen --watch`, then per run edit one contract and time until the watcher reports it done. */
async function watchRuns(dir: string): Promise<number[]> {
  const child = spawn(process.execPath, [...cli, "--watch"], { cwd: dir, stdio: ["ignore", "pipe", "inherit"] });
  let stdout = "";
  const waiters: { pattern: RegExp; from: number; resolve: () => void }[] = [];
  const check = () => {
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(stdout.slice(waiter.from))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    check();
  });
  const exited = new Promise<void>((resolvePromise) => child.once("exit", () => resolvePromise()));
  const waitFor = (pattern: RegExp, from: number) =>
    Promise.race([
      new Promise<void>((resolvePromise) => {
        waiters.push({ pattern, from, resolve: resolvePromise });
        check();
      }),
      exited.then(() => {
        throw new Error(`codegen --watch exited before ${pattern}:\n${stdout}`);
      }),
    ]);
  try {
    await waitFor(/watching contracts\/ for changes/, 0);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const file = join(dir, "contracts", `svc${i % services}.ts`);
      const text = readFileSync(file, "utf8");
      const from = stdout.length;
      const started = performance.now();
      writeFileSync(file, text.replace(/description: "Synthetic service (\d+)[^"]*"/, `description: "Synthetic service $1, edit ${i}"`));
      await waitFor(/contract modules? checked, [1-9]\d* files? updated/, from);
      times.push(performance.now() - started);
      log(`  watch, one contract changed, run ${i + 1}: ${(times.at(-1)! / 1000).toFixed(2)} s`);
    }
    return times;
  } finally {
    child.kill("SIGINT");
    await exited;
  }
}

/** `<short commit> <subject>` of a git checkout, or its path. */
function describeCheckout(dir: string): string {
  try {
    const line = execFileSync("git", ["-C", dir, "log", "-1", "--format=%h %s"], { encoding: "utf8" }).trim();
    return `\`${line.length > 80 ? `${line.slice(0, 79)}…` : line}\``;
  } catch {
    return dir;
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const verdict = (ok: boolean) => (ok ? "met" : "**not met**");

try {
  log(`compiling mqtt-contracts from ${repo}`);
  buildPackage();
  const baseline = values.baseline === undefined ? undefined : resolve(values.baseline);
  if (baseline) {
    log(`compiling the baseline from ${baseline}`);
    buildPackage(baseline, baselinePkg);
  }
  const loadBefore = loadavg()[0]!;

  const dir = makeProject("large", services, methods);
  const baseDir = baseline && makeProject("large-baseline", services, methods, baselinePkg);
  log(`project ${dir}: ${services} services × ${methods} methods`);
  const cold: number[] = [];
  const cached: number[] = [];
  const tscContracts: number[] = [];
  const base = { cold: [] as number[], cached: [] as number[], tsc: [] as number[], small: [] as number[] };
  for (let i = 0; i < runs; i++) {
    cold.push(coldRun(dir));
    if (baseDir) base.cold.push(coldRun(baseDir, baselineCli));
    cached.push(time(dir, process.execPath, cli));
    if (baseDir) base.cached.push(time(baseDir, process.execPath, baselineCli));
    tscContracts.push(time(dir, process.execPath, [tsc, "-p", "tsconfig.json"]));
    if (baseDir) base.tsc.push(time(baseDir, process.execPath, [tsc, "-p", "tsconfig.json"]));
    log(`  run ${i + 1}: cold ${seconds(cold.at(-1)!)}, cached ${seconds(cached.at(-1)!)}, tsc --noEmit of the contracts ${seconds(tscContracts.at(-1)!)}`);
    if (baseDir) log(`  run ${i + 1}, baseline: cold ${seconds(base.cold.at(-1)!)}, cached ${seconds(base.cached.at(-1)!)}, tsc --noEmit of the contracts ${seconds(base.tsc.at(-1)!)}`);
  }
  const watch = await watchRuns(dir);

  const small = makeProject("small", smallServices, smallMethods);
  const baseSmall = baseline && makeProject("small-baseline", smallServices, smallMethods, baselinePkg);
  const smallCold: number[] = [];
  for (let i = 0; i < runs; i++) {
    smallCold.push(coldRun(small));
    if (baseSmall) base.small.push(coldRun(baseSmall, baselineCli));
  }
  log(`  ${smallServices} × ${smallMethods} cold: ${smallCold.map(seconds).join(", ")}${baseSmall ? `; baseline ${base.small.map(seconds).join(", ")}` : ""}`);

  const rows = [
    `| cold \`codegen\` (no cache) | ${seconds(median(cold))} | ≤ 1.2× tsc: ${(median(cold) / median(tscContracts)).toFixed(2)}×, ${verdict(median(cold) <= 1.2 * median(tscContracts))} |`,
    `| \`codegen\` again, nothing changed (cache) | ${seconds(median(cached))} | < 10 % of cold: ${((100 * median(cached)) / median(cold)).toFixed(1)} %, ${verdict(median(cached) < 0.1 * median(cold))} |`,
    `| \`codegen --watch\`, one contract changed: write → last file written | ${seconds(median(watch))} | < 1 s, ${verdict(median(watch) < 1000)} |`,
    `| \`tsc --noEmit\` of the contracts alone | ${seconds(median(tscContracts))} | |`,
    `| cold \`codegen\`, ${smallServices} services × ${smallMethods} methods | ${seconds(median(smallCold))} | < 2 s, ${verdict(median(smallCold) < 2000)} |`,
  ];
  const against = baseline && [
    ``,
    `Against ${describeCheckout(baseline)}, interleaved in the same run (its codegen, and its declarations for the contracts' type check):`,
    ``,
    `| measurement | this tree | baseline | this / baseline |`,
    `|---|---|---|---|`,
    ...(
      [
        ["cold `codegen`", cold, base.cold],
        ["`codegen` again, nothing changed", cached, base.cached],
        ["`tsc --noEmit` of the contracts", tscContracts, base.tsc],
        [`cold \`codegen\`, ${smallServices} × ${smallMethods}`, smallCold, base.small],
      ] as const
    ).map(([name, mine, theirs]) => `| ${name} | ${seconds(median(mine))} | ${seconds(median(theirs))} | ${(median(mine) / median(theirs)).toFixed(2)}× |`),
  ];

  if (values.clients) {
    mkdirSync(join(dir, "generated"), { recursive: true });
    time(dir, process.execPath, cli);
    writeFileSync(join(dir, "use-generated.ts"), callsThroughClients(services, methods));
    writeFileSync(join(dir, "use-inferred.ts"), callsThroughInference(services, methods));
    for (const file of ["use-generated.ts", "use-inferred.ts"]) writeFileSync(join(dir, `tsconfig.${file}.json`), JSON.stringify({ compilerOptions: COMPILER_OPTIONS, files: [file] }));
    const generated: number[] = [];
    const inferred: number[] = [];
    for (let i = 0; i < runs; i++) {
      generated.push(time(dir, process.execPath, [tsc, "-p", "tsconfig.use-generated.ts.json"]));
      inferred.push(time(dir, process.execPath, [tsc, "-p", "tsconfig.use-inferred.ts.json"]));
    }
    rows.push(
      `| \`tsc --noEmit\`, calls through generated clients | ${seconds(median(generated))} | |`,
      `| \`tsc --noEmit\`, same calls on \`z.infer\` chains | ${seconds(median(inferred))} | |`,
      `| ratio generated / z.infer | ${(median(generated) / median(inferred)).toFixed(2)}× | ≤ 0.5× (issue 4), ≤ 1.0× (issue 3) |`,
    );
  }

  const table = [
    `## Codegen at scale: ${services} services × ${methods} methods`,
    ``,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; 1-minute load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (a shared machine: compare rows of one run). Medians of ${runs} runs. Command: \`npm run bench:codegen -- --services ${services} --methods ${methods} --runs ${runs} --small ${values.small}${baseline ? " --baseline <checkout>" : ""}\`.`,
    ``,
    `| measurement | time | target |`,
    `|---|---|---|`,
    ...rows,
    ...(against ?? []),
    ``,
  ].join("\n");
  mkdirSync(dirname(resolve(values.results)), { recursive: true });
  writeFileSync(resolve(values.results), table);
  console.log(table);
} finally {
  if (values.keep) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
