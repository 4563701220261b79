/**
 * What a contract module's generated output depends on, as one hash: its own text, the text of every
 * local module it imports (transitively), the versions of the packages it imports, and the context of
 * the run (codegen's own code and version, zod's, TypeScript's, the tsconfig, the output options).
 * Imports are found by scanning the text, not by TypeScript, so that a run served from the cache
 * loads no compiler; the scan may over-approximate (an import in a comment counts), which only costs
 * a cache miss.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PACKAGE_VERSION } from "../src/version.js";
import { toPosix } from "./import-path.js";

/** Bump when the cache's meaning changes. */
export const CACHE_FORMAT = 1;

const IMPORT = /\b(?:import|export)\s*(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s*)?["']([^"'\n]+)["']|\bimport\s*\(\s*["']([^"'\n]+)["']\s*\)|\brequire\s*\(\s*["']([^"'\n]+)["']\s*\)/g;
const SOURCE_EXTENSIONS = [".ts", ".mts", ".cts", ".tsx", ".js", ".mjs", ".cjs", ".jsx", ".json"];

export function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

/** One scanned module: its text's hash, the local modules it imports and the packages it imports. */
interface Scanned {
  hash: string;
  local: string[];
  packages: string[];
}

/** Scans modules and resolves their imports, remembering each file, for one run (or one `--watch` change). */
export class ImportGraph {
  private readonly scanned = new Map<string, Scanned | undefined>();

  /** Forget what was read of `files`, which changed. */
  forget(files: Iterable<string>): void {
    for (const file of files) this.scanned.delete(file);
  }

  /** `file` and every local module it imports, transitively (absolute paths, `file` first). */
  closure(file: string): string[] {
    const seen = new Set<string>();
    const visit = (path: string) => {
      if (seen.has(path)) return;
      seen.add(path);
      for (const dep of this.scan(path)?.local ?? []) visit(dep);
    };
    visit(file);
    return [...seen];
  }

  /** The cache key of contract module `file` in a run whose context hash is `context`. */
  key(root: string, file: string, context: string): string {
    const parts = [context, toPosix(relative(root, file))];
    const packages = new Set<string>();
    for (const path of this.closure(file)) {
      const scanned = this.scan(path);
      parts.push(`${toPosix(relative(root, path))}=${scanned?.hash ?? "missing"}`);
      for (const name of scanned?.packages ?? []) packages.add(`${name}@${packageVersionFrom(dirname(path), name)}`);
    }
    return sha256([...parts, ...[...packages].sort()].join("\n"));
  }

  private scan(file: string): Scanned | undefined {
    if (this.scanned.has(file)) return this.scanned.get(file);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      this.scanned.set(file, undefined);
      return undefined;
    }
    const local: string[] = [];
    const packages: string[] = [];
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? match[3]!;
      if (specifier.startsWith(".")) {
        const target = resolveLocal(dirname(file), specifier);
        if (target !== undefined && !/[\\/]node_modules[\\/]/.test(target)) local.push(target);
      } else if (!specifier.startsWith("node:") && !specifier.startsWith("#")) {
        packages.push(specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!);
      }
    }
    const scanned = { hash: sha256(text), local: [...new Set(local)].sort(), packages: [...new Set(packages)].sort() };
    this.scanned.set(file, scanned);
    return scanned;
  }
}

/** The file a relative specifier names, as TypeScript and tsx find it (`./a.js` may be `./a.ts`). */
function resolveLocal(fromDir: string, specifier: string): string | undefined {
  const target = resolve(fromDir, specifier);
  const stem = target.replace(/\.(m|c)?jsx?$/, "");
  const candidates = [target, ...SOURCE_EXTENSIONS.map((ext) => stem + ext), ...SOURCE_EXTENSIONS.map((ext) => join(target, `index${ext}`))];
  return candidates.find((path) => statSync(path, { throwIfNoEntry: false })?.isFile());
}

const versions = new Map<string, string>();

/** The version of package `name` as Node would find it from `dir`; "none" when it is not installed. */
export function packageVersionFrom(dir: string, name: string): string {
  for (let at = dir; ; at = dirname(at)) {
    const manifest = join(at, "node_modules", name, "package.json");
    const known = versions.get(manifest);
    if (known !== undefined) return known;
    if (existsSync(manifest)) {
      let version = "unreadable";
      try {
        version = String((JSON.parse(readFileSync(manifest, "utf8")) as { version?: unknown }).version);
      } catch {
        // a manifest that cannot be read still names a different install than none
      }
      versions.set(manifest, version);
      return version;
    }
    if (dirname(at) === at) return "none";
  }
}

let ownCode: string | undefined;

/**
 * Codegen's own code and the contract layer it reads contracts with, hashed: in this repository the
 * version does not change when the generator does. A few dozen small files.
 */
function ownCodeHash(): string {
  if (ownCode !== undefined) return ownCode;
  const here = dirname(fileURLToPath(import.meta.url));
  const hash = createHash("sha256");
  for (const dir of [here, join(here, "..", "src", "contract")]) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      if (!/\.(ts|js)$/.test(name)) continue;
      hash.update(name).update(readFileSync(join(dir, name)));
    }
  }
  return (ownCode = hash.digest("hex"));
}

/** The TypeScript codegen type-checks with: ts-morph's, which bundles its own. */
function typeScriptVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    const tsMorph = require.resolve("ts-morph");
    const common = createRequire(tsMorph).resolve("@ts-morph/common");
    return `ts-morph ${manifestVersion(tsMorph)}, @ts-morph/common ${manifestVersion(common)}`;
  } catch {
    return "unknown";
  }
}

function manifestVersion(entry: string): string {
  for (let dir = dirname(entry); dirname(dir) !== dir; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; version?: string };
      if (parsed.name !== undefined) return `${parsed.name}@${parsed.version}`;
    }
  }
  return "unknown";
}

const EXTENDS = /"extends"\s*:\s*("(?:[^"\\]|\\.)*"|\[[^\]]*\])/;
const MAX_EXTENDS_DEPTH = 16;

/**
 * The hash of a tsconfig and of every tsconfig it `extends`, however deep (up to 16): a base config that
 * changes `paths` or `lib` changes the output as much as the project's own. Read as text, without TypeScript:
 * `extends` is found by a pattern (a match in a comment only costs a cache miss), and a name that does not
 * resolve counts as its name.
 */
export function tsconfigChainHash(path: string): string {
  const texts: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string, depth: number): void => {
    if (depth > MAX_EXTENDS_DEPTH || seen.has(file)) return;
    seen.add(file);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      texts.push(`${depth === 0 ? "none" : `missing ${file}`}`);
      return;
    }
    texts.push(text);
    const found = EXTENDS.exec(text)?.[1];
    if (found === undefined) return;
    let specs: unknown;
    try {
      specs = JSON.parse(found);
    } catch {
      return;
    }
    for (const spec of Array.isArray(specs) ? specs : [specs]) {
      if (typeof spec !== "string") continue;
      const target = resolveExtends(dirname(file), spec);
      if (target === undefined) texts.push(`unresolved ${spec}`);
      else visit(target, depth + 1);
    }
  };
  visit(path, 0);
  return sha256(texts.join("\u0000"));
}

/** Where TypeScript would find an `extends` target: a path (with or without `.json`), or a package's file or tsconfig.json. */
function resolveExtends(dir: string, spec: string): string | undefined {
  if (spec.startsWith(".") || spec.startsWith("/")) {
    const path = resolve(dir, spec);
    return existsSync(path) || !existsSync(`${path}.json`) ? path : `${path}.json`;
  }
  const require = createRequire(join(dir, "tsconfig.json"));
  for (const candidate of [spec, `${spec}.json`, `${spec}/tsconfig.json`]) {
    try {
      return require.resolve(candidate);
    } catch {
      // the next form
    }
  }
  return undefined;
}

/** The hash of everything every contract's output depends on besides the contract's own modules. */
export function runContext(root: string, options: { outDir: string; runtimeImport: string; tsConfigFilePath?: string }): string {
  const tsconfig = options.tsConfigFilePath ? resolve(root, options.tsConfigFilePath) : join(root, "tsconfig.json");
  return sha256(
    JSON.stringify({
      format: CACHE_FORMAT,
      mqttContracts: PACKAGE_VERSION,
      code: ownCodeHash(),
      zod: packageVersionFrom(root, "zod"),
      typescript: typeScriptVersion(),
      outDir: options.outDir,
      runtimeImport: options.runtimeImport,
      tsconfig: tsconfigChainHash(tsconfig),
      node: process.versions.node.split(".")[0],
    }),
  );
}
