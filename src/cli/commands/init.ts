import { existsSync, readFileSync } from "node:fs";
import { cp, mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { basename, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { CliIo } from "../cli-io.js";
import { ExitCode } from "../exit-codes.js";
import { packageRoot } from "../../package-info.js";

export const INIT_USAGE = `Usage: mqtt-contracts init [<dir>] [--dependency <spec>]

Creates a project in <dir> (default: the current folder, which must be empty): a contract in
contracts/, a server agent and a client agent in agents/, package.json with codegen and start
scripts, and tsconfig.json. Then: cd <dir> && npm install && npm run codegen && npm start

  --dependency <spec>  what package.json depends on for mqtt-contracts: a version range, or a
                       tarball or folder path (default: ^ the version of this mqtt-contracts)
  -h, --help           show this help`;

/** Files of a folder that do not make it "not empty": version control and editor settings. */
const IGNORABLE = new Set([".git", ".gitignore", ".vscode", ".idea", ".DS_Store"]);

/** `mqtt-contracts init [dir]`: scaffold a project from the starter in this package's `examples/starter`. */
export async function initCommand(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: { dependency: { type: "string" }, help: { type: "boolean", short: "h", default: false } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    io.err(`mqtt-contracts init: ${(error as Error).message}`);
    io.err("Run mqtt-contracts init --help for the flags.");
    return ExitCode.Usage;
  }
  if (values.help) {
    io.out(INIT_USAGE);
    return ExitCode.Ok;
  }
  if (positionals.length > 1) {
    io.err(`mqtt-contracts init: takes one folder, got ${positionals.map((p) => JSON.stringify(p)).join(" ")}`);
    return ExitCode.Usage;
  }
  const dir = resolve(io.cwd, positionals[0] ?? ".");
  const shown = relative(io.cwd, dir) || ".";
  if (existsSync(dir)) {
    const present = (await readdir(dir).catch(() => undefined))?.filter((name) => !IGNORABLE.has(name));
    if (present === undefined) {
      io.err(`mqtt-contracts init: ${shown} exists and is not a folder`);
      return ExitCode.Problem;
    }
    if (present.length > 0) {
      const listed = present.slice(0, 5).join(", ") + (present.length > 5 ? `, and ${present.length - 5} more` : "");
      io.err(`mqtt-contracts init: ${shown} is not empty (${listed}); init only writes into a new or empty folder: mqtt-contracts init my-agents`);
      return ExitCode.Problem;
    }
  }

  const pkgRoot = packageRoot();
  const own = JSON.parse(readFileSync(join(pkgRoot, "package.json"), "utf8")) as PackageJson;
  const template = join(pkgRoot, "examples", "starter");
  const name = packageName(basename(dir));
  await mkdir(dir, { recursive: true });
  // What a run inside this repository's copy of the starter may have left there is not part of it.
  await cp(template, dir, { recursive: true, filter: (source) => !/(^|[\\/])(node_modules|generated|build)([\\/]|$)/.test(relative(template, source)) });
  // npm leaves .gitignore files out of packages, so the starter ships it as `gitignore`.
  if (existsSync(join(dir, "gitignore"))) await rename(join(dir, "gitignore"), join(dir, ".gitignore"));
  const readme = join(dir, "README.md");
  await writeFile(readme, (await readFile(readme, "utf8")).replaceAll("{{name}}", name));
  await writeFile(join(dir, "package.json"), `${JSON.stringify(starterPackageJson(name, dependencySpec(values.dependency, own.version, io.cwd), own), null, 2)}\n`);

  io.out(`Created ${name} in ${shown}: contracts/greeter.ts, agents/{server,client,main}.ts, package.json, tsconfig.json.`);
  io.out("Next:");
  if (shown !== ".") io.out(`  cd ${shown}`);
  io.out("  npm install");
  io.out("  npm run codegen   # contracts/ → generated/");
  io.out("  npm start         # both agents over an embedded broker");
  return ExitCode.Ok;
}

interface PackageJson {
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** The starter's package.json; versions of zod, tsx, TypeScript and Node's types are those this package is built and tested with. */
function starterPackageJson(name: string, dependency: string, own: PackageJson) {
  const caret = (range: string | undefined, fallback: string) => (range === undefined ? fallback : /^\d/.test(range) ? `^${range}` : range);
  return {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: {
      codegen: "mqtt-contracts codegen",
      start: "tsx agents/main.ts",
      build: "tsc",
      typecheck: "tsc --noEmit",
    },
    dependencies: {
      "mqtt-contracts": dependency,
      zod: own.peerDependencies?.zod ?? "^4.1.0",
    },
    devDependencies: {
      "@types/node": caret(own.devDependencies?.["@types/node"], "^20.19.0"),
      tsx: caret(own.dependencies?.tsx, "^4.20.0"),
      typescript: caret(own.devDependencies?.typescript, "^5.9.0"),
    },
  };
}

/** `--dependency`: a path that exists becomes a `file:` spec (npm installs a tarball or folder from it); anything else is a range. */
function dependencySpec(flag: string | undefined, version: string, cwd: string): string {
  if (flag === undefined) return `^${version}`;
  const path = resolve(cwd, flag);
  return existsSync(path) ? `file:${path}` : flag;
}

/** An npm package name from a folder name: lower case, URL-safe. */
function packageName(folder: string): string {
  const name = folder.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[._-]+|-+$/g, "");
  return name || "my-agents";
}

