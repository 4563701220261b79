import { posix, sep } from "node:path";

/**
 * The specifier a module in `fromDir` imports `file` with, as Node and TypeScript's NodeNext want it:
 * relative, with the extension of the emitted JavaScript (`.ts` → `.js`, `.mts` → `.mjs`).
 */
export function relativeImport(fromDir: string, file: string): string {
  const path = posix.relative(toPosix(fromDir), toPosix(file)).replace(/\.ts$/, ".js").replace(/\.mts$/, ".mjs");
  return path.startsWith(".") ? path : `./${path}`;
}

export function toPosix(path: string): string {
  return path.split(sep).join("/");
}
