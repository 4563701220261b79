#!/usr/bin/env node
// The `mqtt-contracts` bin. A published package (or a built clone) runs the compiled CLI from dist/;
// a fresh clone runs the TypeScript sources through tsx, so no build step is needed after `npm install`.
import { existsSync } from "node:fs";

const built = new URL("../dist/src/cli/main.js", import.meta.url);
const cli = existsSync(built)
  ? await import(built.href)
  : await (await import("tsx/esm/api")).tsImport("../src/cli/main.ts", import.meta.url);
await cli.runAsEntry(process.argv.slice(2));
