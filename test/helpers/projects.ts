import { cp, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { repoRoot } from "./child-process.js";

/** A throwaway project folder: `dir` is its root; `remove()` deletes it. */
export interface TempProject {
  readonly dir: string;
  remove(): Promise<void>;
}

/**
 * A new project under the system temp folder holding copies of `entries` from this repository (e.g.
 * `contracts`, `generated`, `tsconfig.json`). Its node_modules links `zod` and `mqtt-contracts` (this
 * repository, resolved to its sources by the source condition), as an installed project would have them.
 */
export async function tempProject(entries: readonly string[] = [], prefix = "mqtt-contracts-project-"): Promise<TempProject> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  for (const entry of entries) await cp(join(repoRoot, entry), join(dir, entry), { recursive: true });
  await mkdir(join(dir, "node_modules"));
  await symlink(resolve(repoRoot, "node_modules", "zod"), join(dir, "node_modules", "zod"), "dir");
  await symlink(resolve(repoRoot), join(dir, "node_modules", "mqtt-contracts"), "dir");
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
