/**
 * A cold run type-checks many contracts on two threads: the worker's share must come back, in order,
 * exactly as one thread prints it.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { typeCheckSettings } from "../codegen/compiler-options.js";
import { loadContracts } from "../codegen/load-contracts.js";
import { MIN_FILES_TO_SPLIT, startTypePrinting } from "../codegen/parallel-types.js";
import { printTypes } from "../codegen/typescript-types.js";
import { tempProject, type TempProject } from "./helpers/projects.js";

let project: TempProject;
beforeEach(async () => {
  project = await tempProject(["tsconfig.json"], "mqtt-contracts-threads-");
  await mkdir(join(project.dir, "contracts"));
  for (let i = 0; i < MIN_FILES_TO_SPLIT + 2; i++) {
    await writeFile(
      join(project.dir, "contracts", `s${i}.ts`),
      [
        'import { z } from "zod";',
        'import { defineService } from "mqtt-contracts";',
        `export const S${i} = defineService({ name: "s${i}", methods: { get_${i}: { params: z.object({ id: z.string().describe("id ${i}"), n: z.number().default(${i}) }), result: z.object({ v${i}: z.array(z.enum(["a", "b"])).optional() }) } } });`,
      ].join("\n"),
    );
  }
});
afterEach(() => project.remove());

it.skipIf(availableParallelism() < 2)(`splits ${MIN_FILES_TO_SPLIT} or more contract modules over a worker thread and prints what one thread prints`, { timeout: 180_000 }, async () => {
  const settings = typeCheckSettings(project.dir);
  const failures: (string | undefined)[] = [];
  let requests: Parameters<typeof printTypes>[1] = [];
  const oneThread = await loadContracts({ root: project.dir, printer: (r) => ((requests = r), printTypes(settings, r)) });
  // Started before the contracts load, as a run starts it: the worker warms up on its share of the files.
  const printing = startTypePrinting(settings, [...new Set(requests.map((r) => r.file))], (failure) => failures.push(failure));
  const twoThreads = await loadContracts({ root: project.dir, printer: (r) => printing.print(r) }).finally(() => printing.close());
  expect(failures).toEqual([undefined]); // the worker printed its half
  expect(twoThreads).toEqual(oneThread);
  expect(requests.length).toBe(3 * (MIN_FILES_TO_SPLIT + 2));
  expect(oneThread.services.find((s) => s.name === "s3")!.methods[0]!.params.type).toContain("/** id 3 */");
});
