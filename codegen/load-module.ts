import { createRequire, register } from "node:module";
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

const GENERATION = "mqtt-contracts-generation";
let hooks: string | undefined;

/**
 * Import `file` anew, as of `generation`, for `--watch`: Node caches a module by its URL, so each
 * generation gets a URL of its own (`?mqtt-contracts-generation=N`), and a resolve hook passes the
 * generation on to the modules it imports under `dir` (the contracts folder), which are then loaded
 * anew too. Packages, zod and mqtt-contracts among them, stay loaded once. Old generations stay in
 * memory: a few modules per change.
 */
export async function importFresh(file: string, generation: number, dir: string): Promise<Record<string, unknown>> {
  if (/\.m?ts$/.test(file)) await ensureTypeScriptLoader();
  if (hooks === undefined) {
    hooks = pathToFileURL(dir).href;
    register(`data:text/javascript,${encodeURIComponent(GENERATION_HOOK)}`, { data: { dir: `${hooks.replace(/\/$/, "")}/`, parameter: GENERATION } });
  }
  // A contract in a package without "type": "module" loads as CommonJS, cached by path, not by URL.
  const cache = createRequire(import.meta.url).cache;
  for (const path of Object.keys(cache)) if (path.startsWith(dir) && !/[\\/]node_modules[\\/]/.test(path)) delete cache[path];
  const url = new URL(pathToFileURL(file).href);
  url.searchParams.set(GENERATION, String(generation));
  return (await import(url.href)) as Record<string, unknown>;
}

/** The resolve hook of `importFresh`, run by Node's module loader (in a thread of its own). */
const GENERATION_HOOK = `
let dir, parameter;
export function initialize(data) { dir = data.dir; parameter = data.parameter; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  const parent = context.parentURL;
  if (!parent || !parent.includes(parameter) || !specifier.startsWith(".") || !result.url.startsWith(dir) || result.url.includes("/node_modules/")) return result;
  const generation = new URL(parent).searchParams.get(parameter);
  if (generation === null) return result;
  const url = new URL(result.url);
  url.searchParams.set(parameter, generation);
  return { ...result, url: url.href };
}
`;
