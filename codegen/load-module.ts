import { pathToFileURL } from "node:url";

/** The kinds of contract module codegen reads: TypeScript and JavaScript, as ES modules or by the package's `type`. */
export const CONTRACT_MODULE = /\.(ts|mts|js|mjs)$/;
/** Declaration files, tests and `__`-prefixed helpers sit beside contracts without being contracts. */
export const NOT_A_CONTRACT = /(\.d\.m?ts|\.test\.m?[tj]s)$|^__/;

let typeScriptLoader: Promise<void> | undefined;

/**
 * Import a contract module, TypeScript included, with no build step and no loader for the user to set
 * up: tsx's loader is registered on first use (ES module and CommonJS hooks, as `node --import tsx`
 * does), once per process. Where codegen itself runs from TypeScript sources (this repository's
 * scripts and tests), a loader is already active and none is added.
 */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  if (/\.m?ts$/.test(file)) await ensureTypeScriptLoader();
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

function ensureTypeScriptLoader(): Promise<void> {
  if (import.meta.url.endsWith(".ts")) return Promise.resolve();
  typeScriptLoader ??= (async () => {
    const [esm, cjs] = await Promise.all([import("tsx/esm/api"), import("tsx/cjs/api")]);
    esm.register();
    cjs.register();
  })();
  return typeScriptLoader;
}
