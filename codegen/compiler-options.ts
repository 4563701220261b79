import { existsSync } from "node:fs";
import { join } from "node:path";
import { ts } from "ts-morph";

/**
 * How codegen type-checks contracts to print their types. Its own settings, always strict (so that
 * `undefined` and `null` survive in the printed types), with no output options. From the project's
 * tsconfig it takes only what decides how modules resolve, so contracts import what they import
 * in the project's own build; `fallback` is the same without anything taken from the project.
 */
export interface TypeCheckSettings {
  options: ts.CompilerOptions;
  /** Where the resolution options came from: a tsconfig path, or undefined for codegen's own defaults. */
  from: string | undefined;
  /** Codegen's own settings alone, for when the project's do not work with them. */
  fallback: ts.CompilerOptions | undefined;
}

/** What codegen always type-checks with. NodeNext resolves like Node, which is what loads contracts. */
const OWN_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
  allowJs: true,
  noEmit: true,
  resolveJsonModule: true,
  esModuleInterop: true,
  // No global type packages: contract types never need them, and one listed but not installed is an error.
  types: [],
};

/** Options of the project's tsconfig that change where an import resolves to, or what a type means. */
const RESOLUTION_KEYS = [
  "module",
  "moduleResolution",
  "baseUrl",
  "paths",
  "rootDirs",
  "customConditions",
  "resolvePackageJsonExports",
  "resolvePackageJsonImports",
  "allowImportingTsExtensions",
  "allowArbitraryExtensions",
  "moduleSuffixes",
  "lib",
  "target",
  "experimentalDecorators",
] as const satisfies readonly (keyof ts.CompilerOptions)[];

/** The settings for a project at `root`: its `tsconfig.json` when there is one (or `tsconfigPath`). */
export function typeCheckSettings(root: string, tsconfigPath?: string): TypeCheckSettings {
  const own = withDeprecationsAllowed({ ...OWN_OPTIONS });
  const path = tsconfigPath ?? join(root, "tsconfig.json");
  if (!existsSync(path)) return { options: own, from: undefined, fallback: undefined };
  const parsed = ts.getParsedCommandLineOfConfigFile(path, {}, {
    ...ts.sys,
    // A tsconfig that cannot be read or parsed is not codegen's concern: fall back to its own settings.
    onUnRecoverableConfigFileDiagnostic: () => undefined,
  });
  if (parsed === undefined) return { options: own, from: undefined, fallback: undefined };
  const taken: ts.CompilerOptions = {};
  for (const key of RESOLUTION_KEYS) if (parsed.options[key] !== undefined) (taken as Record<string, unknown>)[key] = parsed.options[key];
  // `module: commonjs` and friends without a resolution mode resolve like node10, which cannot see
  // package `exports` (how zod and mqtt-contracts publish their types): resolve like Node does instead.
  if (!usesExports(taken)) {
    delete taken.module;
    delete taken.moduleResolution;
  }
  return { options: withDeprecationsAllowed({ ...OWN_OPTIONS, ...taken }), from: path, fallback: own };
}

function usesExports(options: ts.CompilerOptions): boolean {
  const resolution = options.moduleResolution;
  if (resolution !== undefined) {
    return resolution === ts.ModuleResolutionKind.Node16 || resolution === ts.ModuleResolutionKind.NodeNext || resolution === ts.ModuleResolutionKind.Bundler;
  }
  return options.module === ts.ModuleKind.Node16 || options.module === ts.ModuleKind.NodeNext || options.module === ts.ModuleKind.Preserve;
}

/**
 * Codegen's TypeScript (bundled with ts-morph) may be newer than the project's: options the newer one
 * deprecates (`baseUrl`, say, in 6.0) must not stop codegen.
 */
function withDeprecationsAllowed(options: ts.CompilerOptions): ts.CompilerOptions {
  const major = Number(ts.versionMajorMinor.split(".")[0]);
  return major >= 5 ? { ...options, ignoreDeprecations: ts.versionMajorMinor.startsWith("5.") ? "5.0" : `${major}.0` } : options;
}
