/**
 * Bundling for a browser with esbuild (platform browser, so `mqtt-contracts` resolves through its `browser`
 * export condition), with a check that nothing imports a Node built-in: each such import is recorded
 * with its importer and left out, so one build names them all.
 */
import { isBuiltin } from "node:module";
import { gzipSync } from "node:zlib";
import { build, type Plugin } from "esbuild";

export interface BrowserBundle {
  readonly code: string;
  /** Bytes of the minified bundle, and of it gzipped. */
  readonly minified: number;
  readonly gzipped: number;
  /** Imports of Node built-ins (`node:fs`, `events`, …), as `specifier (from importer)`. */
  readonly builtins: string[];
  /** The files in the bundle, relative to the working directory. */
  readonly inputs: string[];
}

export interface BrowserBundleOptions {
  /** The working directory, whose node_modules resolve the imports. Default: this process's. */
  cwd?: string;
  /** Extra export conditions, e.g. `@mqtt-contracts/source` inside this repository. */
  conditions?: string[];
  /** Default "esm". */
  format?: "esm" | "iife";
}

export async function bundleForBrowser(entry: string, options: BrowserBundleOptions = {}): Promise<BrowserBundle> {
  const builtins: string[] = [];
  const noBuiltins: Plugin = {
    name: "no-node-builtins",
    setup(plugin) {
      plugin.onResolve({ filter: /.*/ }, (args) => {
        if (!isBuiltin(args.path)) return undefined;
        builtins.push(`${args.path} (from ${args.importer})`);
        return { path: args.path, external: true };
      });
    },
  };
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: options.cwd ?? process.cwd(),
    bundle: true,
    platform: "browser",
    format: options.format ?? "esm",
    target: "es2022",
    minify: true,
    write: false,
    metafile: true,
    conditions: options.conditions ?? [],
    plugins: [noBuiltins],
    logLevel: "silent",
  });
  const code = result.outputFiles[0]!.text;
  const bytes = Buffer.from(code);
  return { code, minified: bytes.byteLength, gzipped: gzipSync(bytes, { level: 9 }).byteLength, builtins, inputs: Object.keys(result.metafile.inputs) };
}

/** `bytes` as KiB with one decimal, for size reports. */
export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
