/**
 * A smoke size of the streaming bench (`npm run bench:stream`, also run by `npm run bench`): it compiles the
 * bench processes and runs every row once on aedes with 2 000 items, so a change that breaks the bench fails
 * here, not at the next measurement. It asserts that every row ran and delivered, not how fast: figures on a
 * shared 2-core machine are the bench's job.
 */
import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { Children } from "./helpers/child-process.js";

const children = new Children();
afterEach(() => children.killAll());

describe("npm run bench:stream, smoke size", () => {
  it("runs every row on aedes and reports items/s and the slow consumer's memory", { timeout: 300_000 }, async () => {
    const run = await children.startTs("bench/stream.ts", ["--quick", "--brokers", "aedes", "--items", "2000", "--slow-rate", "8000"]).exit(280_000);
    expect(run.stderr).not.toMatch(/ failed: /);
    expect(run.code).toBe(0);
    const report = JSON.parse(await readFile("bench/results/stream-quick-partial.json", "utf8")) as { runs: { row: string; ok: boolean; fast?: { received: number; items: number; outOfOrder: number } }[] };
    const rows = ["floor", "mqtt-contracts credit 32", "mqtt-contracts credit 256", "mqtt-contracts credit 1024", "contract credit 32"];
    expect(report.runs.map((row) => row.row).sort()).toEqual([...rows].sort());
    for (const row of report.runs) expect(row).toMatchObject({ ok: true, fast: { received: 2000, items: 2000, outOfOrder: 0 } });
    for (const row of rows) expect(run.stdout).toMatch(new RegExp(`^\\| ${row} \\| [\\d ]+ \\|`, "m"));
    expect(run.stdout).toMatch(/Slow consumer \(2 000 items read at 8 000 items\/s\)/);
  });
});
