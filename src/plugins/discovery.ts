import { readdir, readFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import type { CommunicatorClass } from "../communicator/types.js";
import { ConfigurationError } from "../errors/errors.js";
import type { Logger } from "../logger.js";
import { registerCommunicator } from "./registry.js";

/** What a package declares in its package.json to contribute communicators. */
export interface CommunicatorManifest {
  /** Type → module path relative to the package, optionally `#ExportName` (default export otherwise). */
  communicators: Record<string, string>;
}

export interface DiscoveredCommunicator {
  type: string;
  packageName: string;
  /** Absolute path of the module. */
  module: string;
  exportName: string;
}

export interface DiscoverOptions {
  /** Where to start: `node_modules` here and in every parent folder are searched, nearest first. Default: `process.cwd()`. */
  cwd?: string;
  /** Where malformed manifests are reported. */
  logger?: Pick<Logger, "warn">;
}

/**
 * Find packages under `node_modules` that declare `"mqtt-contracts": { "communicators": { … } }`
 * and register each type with a lazy loader: the module is imported when an agent first uses it.
 * A type found in a nearer `node_modules` wins. Returns what was registered.
 */
export async function discoverCommunicators(options: DiscoverOptions = {}): Promise<DiscoveredCommunicator[]> {
  const found = new Map<string, DiscoveredCommunicator>();
  for (const nodeModules of nodeModulesDirs(resolve(options.cwd ?? process.cwd()))) {
    for (const packageDir of await packageDirs(nodeModules)) {
      for (const entry of await readManifest(packageDir, options.logger)) {
        if (!found.has(entry.type)) found.set(entry.type, entry);
      }
    }
  }
  for (const entry of found.values()) {
    registerCommunicator(entry.type, () => importCommunicator(entry), entry.packageName);
  }
  return [...found.values()];
}

function nodeModulesDirs(start: string): string[] {
  const dirs: string[] = [];
  for (let dir = start; ; dir = dirname(dir)) {
    if (!dir.endsWith(`${sep}node_modules`)) dirs.push(join(dir, "node_modules"));
    if (dirname(dir) === dir) return dirs;
  }
}

async function packageDirs(nodeModules: string): Promise<string[]> {
  const names = await readdir(nodeModules).catch(() => [] as string[]);
  const dirs: string[] = [];
  for (const name of names) {
    if (name.startsWith(".")) continue;
    if (name.startsWith("@")) {
      const scoped = await readdir(join(nodeModules, name)).catch(() => [] as string[]);
      dirs.push(...scoped.map((inner) => join(nodeModules, name, inner)));
    } else {
      dirs.push(join(nodeModules, name));
    }
  }
  return dirs;
}

async function readManifest(packageDir: string, logger: DiscoverOptions["logger"]): Promise<DiscoveredCommunicator[]> {
  let pkg: { name?: unknown; "mqtt-contracts"?: unknown };
  try {
    pkg = JSON.parse(await readFile(join(packageDir, "package.json"), "utf8"));
  } catch {
    return [];
  }
  const manifest = pkg["mqtt-contracts"] as { communicators?: unknown } | undefined;
  if (manifest === undefined || typeof manifest !== "object" || manifest === null) return [];
  const packageName = typeof pkg.name === "string" ? pkg.name : packageDir;
  const communicators = manifest.communicators;
  if (typeof communicators !== "object" || communicators === null || Array.isArray(communicators)) {
    logger?.warn(`Ignoring "mqtt-contracts" in ${packageName}: "communicators" must map type names to module paths`);
    return [];
  }
  const entries: DiscoveredCommunicator[] = [];
  for (const [type, spec] of Object.entries(communicators)) {
    if (typeof spec !== "string" || spec.length === 0) {
      logger?.warn(`Ignoring communicator ${type} of ${packageName}: the module path must be a string`);
      continue;
    }
    const [path, exportName = "default"] = spec.split("#") as [string, string?];
    const module = resolve(packageDir, path);
    if (!module.startsWith(resolve(packageDir) + sep)) {
      logger?.warn(`Ignoring communicator ${type} of ${packageName}: ${path} is outside the package`);
      continue;
    }
    entries.push({ type, packageName, module, exportName });
  }
  return entries;
}

async function importCommunicator(entry: DiscoveredCommunicator): Promise<CommunicatorClass> {
  const module = (await import(pathToFileURL(entry.module).href)) as Record<string, unknown>;
  const exported = module[entry.exportName];
  if (typeof exported !== "function") {
    throw new ConfigurationError(`${entry.module} has no export ${JSON.stringify(entry.exportName)} that is a communicator class`);
  }
  return exported as CommunicatorClass;
}
