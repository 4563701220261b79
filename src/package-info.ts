import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

/** The folder of this package (the one with its package.json), from dist/ or from the sources. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "mqtt-contracts") return (root = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the folder of the mqtt-contracts package");
    dir = parent;
  }
}
