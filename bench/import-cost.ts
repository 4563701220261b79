/**
 * `npm run bench:import [-- --runs 15] [-- --baseline <package dir>]`: what importing the runtime costs an agent.
 *
 * Each case is a fresh `node` process that imports one module and reports the time the import took and
 * the process's RSS after it; cases run interleaved, `--runs` times each, and the table gives medians.
 * The runtime is the compiled `dist/` (built first), as a user's `node_modules/mqtt-contracts` holds it.
 * `--baseline <dir>` adds the same import from another build of the package (e.g. an earlier commit's
 * `npm run build`, copied to <dir>/dist with its package.json), to compare before and after in one run.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { median } from "./lib/stats.js";

const repoRoot = resolve(import.meta.dirname, "..");
const { values } = parseArgs({ options: { runs: { type: "string", default: "15" }, baseline: { type: "string" } } });
const runs = Number(values.runs);

execFileSync("npm", ["run", "--silent", "build"], { cwd: repoRoot, stdio: "inherit" });

const cases: { name: string; specifier?: string }[] = [
  { name: "node, nothing imported" },
  { name: "mqtt (mqtt.js)", specifier: "mqtt" },
  { name: "zod", specifier: "zod" },
  { name: "mqtt-contracts (runtime)", specifier: pathToFileURL(join(repoRoot, "dist/src/index.js")).href },
  ...(values.baseline ? [{ name: `mqtt-contracts (runtime), ${values.baseline}`, specifier: pathToFileURL(join(resolve(values.baseline), "dist/src/index.js")).href }] : []),
  { name: "mqtt-contracts/codegen", specifier: pathToFileURL(join(repoRoot, "dist/codegen/index.js")).href },
];

function measure(specifier: string | undefined): { ms: number; rss: number } {
  const code = `const t = performance.now(); ${specifier ? `await import(${JSON.stringify(specifier)});` : ""} console.log(JSON.stringify({ ms: performance.now() - t, rss: process.memoryUsage().rss }));`;
  return JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", code], { cwd: repoRoot, encoding: "utf8" })) as { ms: number; rss: number };
}

const samples = cases.map(() => ({ ms: [] as number[], rss: [] as number[] }));
for (let run = 0; run < runs; run++) {
  cases.forEach((c, i) => {
    const { ms, rss } = measure(c.specifier);
    samples[i]!.ms.push(ms);
    samples[i]!.rss.push(rss / 1024 / 1024);
  });
  process.stderr.write(`\rbench:import: run ${run + 1}/${runs}`);
}
process.stderr.write("\n");

const bareRss = median(samples[0]!.rss);
const rows = cases.map((c, i) => {
  const ms = median(samples[i]!.ms);
  const rss = median(samples[i]!.rss);
  return `| ${c.name} | ${ms.toFixed(1)} | ${rss.toFixed(1)} | ${i === 0 ? "—" : `+${(rss - bareRss).toFixed(1)}`} |`;
});
const report = [
  `Import cost (\`npm run bench:import\`, ${runs} fresh processes per case, interleaved, medians), Node ${process.version}:`,
  "",
  "| import | time ms | RSS MiB after | RSS over bare node MiB |",
  "|---|---:|---:|---:|",
  ...rows,
  "",
].join("\n");
console.log(report);
mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
writeFileSync(join(repoRoot, "bench/results/import-cost.md"), `${report}`);
