#!/usr/bin/env node
// The `mqtt-contracts` command: the compiled CLI in dist/. The published package ships it; in a clone,
// `npm run build` makes it, and `npm run cli -- <command>` runs the TypeScript sources instead.
import { existsSync } from "node:fs";
import module from "node:module";

// Node 22.1+ keeps the code it compiled between runs (codegen's TypeScript takes ~0.4 s to compile
// otherwise); NODE_DISABLE_COMPILE_CACHE=1 turns it off. Node 20 has no such cache.
module.enableCompileCache?.();

const built = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(built)) {
  process.stderr.write("mqtt-contracts: dist/ is missing: run `npm run build` first (in a clone, `npm run cli -- <command>` runs the sources)\n");
  process.exit(70);
}
const { runAsEntry } = await import(built.href);
await runAsEntry(process.argv.slice(2));
