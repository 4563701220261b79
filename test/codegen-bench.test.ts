/**
 * `npm run bench:codegen` at a smoke size, so that the benchmark cannot break unnoticed: it must exit 0
 * and report every row. Its figures are not checked here (a tiny project on a shared machine says
 * nothing about the targets); the benchmark at full size is where they are measured.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { Children, repoRoot } from "./helpers/child-process.js";
import { CODEGEN_TIMEOUT } from "./helpers/codegen-cli.js";

const children = new Children();
let dir: string | undefined;
afterEach(async () => {
  await children.killAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("bench:codegen runs at a smoke size and reports cold, cached, --watch, tsc and small-project rows", { timeout: 5 * CODEGEN_TIMEOUT }, async () => {
  dir = await mkdtemp(join(tmpdir(), "mqtt-contracts-bench-smoke-"));
  const results = join(dir, "codegen-scale.md");
  const run = await children.start("npm", ["run", "bench:codegen", "--", "--services", "3", "--methods", "2", "--runs", "1", "--small", "2x1", "--results", results], { cwd: repoRoot }).exit(5 * CODEGEN_TIMEOUT);
  expect(run.code, run.stderr).toBe(0);
  const table = await readFile(results, "utf8");
  expect(run.stdout).toContain(table);
  const seconds = String.raw`\d+\.\d\d s`;
  for (const row of [
    String.raw`\| cold \`codegen\` \(no cache\) \| ${seconds} \| ≤ 1\.2× tsc: \d+\.\d\d×, (met|\*\*not met\*\*) \|`,
    String.raw`\| \`codegen\` again, nothing changed \(cache\) \| ${seconds} \| < 10 % of cold: \d+\.\d %, (met|\*\*not met\*\*) \|`,
    String.raw`\| \`codegen --watch\`, one contract changed: write → last file written \| ${seconds} \| < 1 s, (met|\*\*not met\*\*) \|`,
    String.raw`\| \`tsc --noEmit\` of the contracts alone \| ${seconds} \| \|`,
    String.raw`\| cold \`codegen\`, 2 services × 1 methods \| ${seconds} \| < 2 s, (met|\*\*not met\*\*) \|`,
  ]) {
    expect(table).toMatch(new RegExp(row));
  }
});
