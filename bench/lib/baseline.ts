/**
 * `--baseline <dir>`: the mqtt-contracts runtime of another checkout (another commit) as systems of
 * their own, `baseline:<id>`, run beside this tree's in the same interleaved order.
 *
 * The baseline build, .bench-build/baseline/, holds the other checkout's src/, generated/ and
 * contracts/, compiled by this tree's tsc with this tree's compiler options (type checking off: the
 * checkout may have no node_modules, and its code was checked in its own commit), beside a copy of
 * this tree's compiled bench/ and a package.json that makes `import "mqtt-contracts"` resolve to the
 * baseline's src/index.js. So the peer code (bench/peers/mqtt-contracts.ts) is this tree's; only the
 * runtime under it and the code generated for the bench contract come from the other commit. Bare
 * imports (mqtt, zod) resolve from this repo's node_modules, for both builds alike.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BrokerKind } from "../peers/peer.js";
import { BUILD_DIR, writeSelfReference } from "./build.js";
import { repoRoot } from "./child.js";
import { ratio } from "./format.js";
import type { OkRun, RunResult } from "./results.js";
import { median } from "./stats.js";

export const BASELINE_BUILD_DIR = join(BUILD_DIR, "baseline");
const PREFIX = "baseline:";

/** `baseline:mqtt-contracts` → true */
export const isBaselineSystem = (system: string): boolean => system.startsWith(PREFIX);
/** The system a label runs: `baseline:mqtt-contracts` → `mqtt-contracts`. */
export const underlyingSystem = (system: string): string => (isBaselineSystem(system) ? system.slice(PREFIX.length) : system);

/** The selected systems with `baseline:<id>` right after each mqtt-contracts one. */
export function withBaselines(systems: readonly string[]): string[] {
  const out = systems.flatMap((id) => (id.startsWith("mqtt-contracts") ? [id, `${PREFIX}${id}`] : [id]));
  if (out.length === systems.length) throw new Error("--baseline needs at least one mqtt-contracts system in --systems");
  return out;
}

/** A checkout and the runtime compiled from it. */
export interface BuildInfo {
  dir: string;
  /** `git describe`-like: short commit, or "not a git checkout". */
  commit: string;
  subject: string;
  /** Uncommitted changes under src/, generated/ and contracts/ (`git status --porcelain`). */
  dirty: string[];
  /** sha256 (12 hex) of the compiled runtime: src/, generated/bench_echo.js, contracts/bench-echo.js. */
  fingerprint: string;
}

function git(dir: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

/** A hash of the compiled runtime's files (paths and contents), to tell two builds apart. */
function fingerprint(buildDir: string): string {
  const hash = createHash("sha256");
  const files = readdirSync(join(buildDir, "src"), { recursive: true, encoding: "utf8" })
    .map((file) => join("src", file))
    .concat(["generated/bench_echo.js", "contracts/bench-echo.js"])
    .filter((file) => file.endsWith(".js"))
    .sort();
  for (const file of files) hash.update(`${file}\0`).update(readFileSync(join(buildDir, file))).update("\0");
  return hash.digest("hex").slice(0, 12);
}

export function describeBuild(sourceDir: string, buildDir: string): BuildInfo {
  const status = git(sourceDir, ["status", "--porcelain", "--", "src", "generated", "contracts"]);
  return {
    dir: sourceDir,
    commit: git(sourceDir, ["rev-parse", "--short", "HEAD"]) ?? "not a git checkout",
    subject: git(sourceDir, ["log", "-1", "--format=%s"]) ?? "",
    dirty: status ? status.split("\n") : [],
    fingerprint: fingerprint(buildDir),
  };
}

/** Differences between this tree's and the checkout's declared dependencies: the baseline runs on this tree's. */
function dependencyDrift(sourceDir: string): string[] {
  type Manifest = { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  const read = (dir: string) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
  const ours = read(repoRoot);
  const theirs = read(sourceDir);
  const all = (m: Manifest) => ({ ...m.devDependencies, ...m.dependencies });
  const [a, b] = [all(ours), all(theirs)];
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((name) => a[name] !== b[name]).map((name) => `${name}: ${b[name] ?? "absent"} there, ${a[name] ?? "absent"} here`);
}

/** Compile `sourceDir`'s runtime into .bench-build/baseline/ (after `buildBenchProcesses`). */
export function buildBaseline(sourceDir: string, log: (message: string) => void): BuildInfo {
  const dir = resolve(sourceDir);
  for (const needed of ["src/index.ts", "generated/bench_echo.ts", "contracts/bench-echo.ts", "package.json"]) {
    if (!existsSync(join(dir, needed))) throw new Error(`--baseline ${dir}: no ${needed} there`);
  }
  rmSync(BASELINE_BUILD_DIR, { recursive: true, force: true });
  const config = join(BUILD_DIR, "tsconfig.baseline.json");
  const tsconfig = {
    // This tree's compiler options, so that both builds differ only in their sources.
    extends: join(repoRoot, "tsconfig.json"),
    compilerOptions: { noEmit: false, noCheck: true, types: [], rootDir: dir, outDir: BASELINE_BUILD_DIR, sourceMap: false, declaration: false },
    include: ["src", "generated", "contracts"].map((folder) => join(dir, folder)),
  };
  writeFileSync(config, `${JSON.stringify(tsconfig, null, 2)}\n`);
  execFileSync(process.execPath, [join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", config], { cwd: repoRoot, stdio: "inherit" });
  cpSync(join(BUILD_DIR, "bench"), join(BASELINE_BUILD_DIR, "bench"), { recursive: true });
  writeSelfReference(BASELINE_BUILD_DIR);
  for (const drift of dependencyDrift(dir)) log(`warning: the baseline declares other dependencies (it runs on this tree's node_modules): ${drift}`);
  return describeBuild(dir, BASELINE_BUILD_DIR);
}

/** One line of the report's system list for a baseline label. */
export function baselineDescription(system: string, baseline: BuildInfo | undefined): string {
  return `${underlyingSystem(system)} on the runtime of ${baseline ? `${baseline.dir} at ${baseline.commit}` : "the baseline checkout"} (this tree's peer code)`;
}

/** `1.02× [0.97–1.06]`: the median of per-repetition ratios and their range. */
function pairedRatio(values: readonly number[]): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return "–";
  const range = finite.length > 1 ? ` [${ratio(Math.min(...finite)).slice(0, -1)}–${ratio(Math.max(...finite))}]` : "";
  return `${ratio(median(finite))}${range}`;
}

const cpuPerCall = (run: OkRun, inFlight: number): number => {
  const level = run.levels.find((entry) => entry.inFlight === inFlight);
  return level && level.answered > 0 ? (level.clientCpuUs + level.serverCpuUs) / level.answered : Number.NaN;
};
const callsPerSec = (run: OkRun, inFlight: number): number => run.levels.find((entry) => entry.inFlight === inFlight)?.callsPerSec ?? Number.NaN;

export interface VsBaselineInput {
  systems: readonly string[];
  brokers: readonly BrokerKind[];
  levels: readonly number[];
  reps: number;
  runs: readonly RunResult[];
  current: BuildInfo;
  baseline: BuildInfo;
}

const describe = (info: BuildInfo) =>
  `${info.commit}${info.subject ? ` ("${info.subject.length > 60 ? `${info.subject.slice(0, 57)}...` : info.subject}")` : ""}` +
  `${info.dirty.length > 0 ? `, plus ${info.dirty.length} uncommitted change(s) under src/, generated/, contracts/` : ", clean"}; compiled runtime ${info.fingerprint}`;

/** The "vs baseline" section: current / baseline, paired by broker and repetition. */
export function vsBaselineSection({ systems, brokers, levels, reps, runs, current, baseline }: VsBaselineInput): string[] {
  const runtimeOf = (system: string) => runs.find((run): run is OkRun => run.ok && run.system === system && run.runtime !== undefined)?.runtime;
  const header = ["broker", "system", "pairs", "p50", ...levels.map((l) => `calls/s @${l}`), ...levels.map((l) => `CPU/call @${l}`)];
  const lines = [
    `## vs baseline`,
    ``,
    `Current: this tree at ${describe(current)}. Baseline: \`${baseline.dir}\` at ${describe(baseline)}. ` +
      `The baseline systems run this tree's peer code on the baseline's runtime; the processes loaded \`mqtt-contracts\` from ` +
      systems
        .filter(isBaselineSystem)
        .map((system) => `\`${runtimeOf(system) ?? "?"}\` (${system}) against \`${runtimeOf(underlyingSystem(system)) ?? "?"}\``)
        .join(", ") +
      `.`,
    ``,
    `Each cell is current / baseline (the --baseline commit, not the hand-written baseline of the tables below): the ratio within each repetition ` +
      `(same broker process, run one after the other), median over the ${reps} repetition(s), [range over them]. "pairs" counts the repetitions where both ran. ` +
      `CPU/call is the client's plus the server's CPU µs per answered call at that level. Above 1 is better for calls/s, worse for p50 and CPU.`,
    ``,
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`,
  ];
  for (const broker of brokers) {
    for (const system of systems.filter((id) => !isBaselineSystem(id) && systems.includes(`${PREFIX}${id}`))) {
      const okRun = (label: string, rep: number) => runs.find((run): run is OkRun => run.ok && run.system === label && run.broker === broker && run.rep === rep);
      const pairs = Array.from({ length: reps }, (_, i) => [okRun(system, i + 1), okRun(`${PREFIX}${system}`, i + 1)] as const).filter(
        (pair): pair is readonly [OkRun, OkRun] => pair[0] !== undefined && pair[1] !== undefined,
      );
      const cell = (pick: (run: OkRun) => number) => pairedRatio(pairs.map(([a, b]) => pick(a) / pick(b)));
      const cells = [
        broker,
        system,
        `${pairs.length}/${reps}`,
        cell((run) => run.latency.p50Ms),
        ...levels.map((level) => cell((run) => callsPerSec(run, level))),
        ...levels.map((level) => cell((run) => cpuPerCall(run, level))),
      ];
      lines.push(`| ${cells.join(" | ")} |`);
    }
  }
  lines.push(``);
  return lines;
}
