import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Children, Exit } from "./child-process.js";

/** What a finished command printed, and how it ended. */
export type Finished = Exit & { stdout: string; stderr: string };

/**
 * Runs commands the way a user types them in a project of their own: `npm`, `npx`, `node`, each a
 * process of its own in `cwd`. Every wait is bounded by `timeoutMs`: npm reaches the registry, and the
 * machine may be loaded, so the bounds are minutes, not the seconds these usually take.
 */
export class Shell {
  constructor(
    private readonly children: Children,
    readonly cwd: string,
    private readonly timeoutMs = 300_000,
  ) {}

  run(command: string, args: readonly string[], env: Record<string, string | undefined> = {}): Promise<Finished> {
    return this.children.start(command, args, { cwd: this.cwd, env: { ...QUIET_NPM, ...env } }).exit(this.timeoutMs);
  }

  /** Like `run`, but a non-zero exit fails with everything the command printed. */
  async ok(command: string, args: readonly string[], env: Record<string, string | undefined> = {}): Promise<Finished> {
    const result = await this.run(command, args, env);
    if (result.code !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.code ?? result.signal} in ${this.cwd}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
    return result;
  }

  start(command: string, args: readonly string[], env: Record<string, string | undefined> = {}) {
    return this.children.start(command, args, { cwd: this.cwd, env: { ...QUIET_NPM, ...env } });
  }

  in(dir: string): Shell {
    return new Shell(this.children, join(this.cwd, dir), this.timeoutMs);
  }
}

/** npm's own chatter (update notices, funding, audit) is not what these tests read. */
const QUIET_NPM = { npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false", NO_COLOR: "1" };

/** `npm pack` of the checkout at `repo` (its `prepack` builds dist/), into a new temp folder; resolves with the tarball's path. */
export async function packCheckout(shell: Shell): Promise<string> {
  const dest = await mkdtemp(join(tmpdir(), "mqtt-contracts-pack-"));
  await shell.ok("npm", ["pack", "--pack-destination", dest, "--loglevel=error"]);
  const [tarball] = (await readdir(dest)).filter((name) => name.endsWith(".tgz"));
  if (tarball === undefined) throw new Error(`npm pack wrote no tarball into ${dest}`);
  return join(dest, tarball);
}

/**
 * npm's complaints about the dependency tree: a peer it could not satisfy (`ERESOLVE`, even as a warning
 * that it overrode one), a peer of the wrong version, or an engine the package says it does not run on.
 */
const TREE_COMPLAINT = /ERESOLVE|\bpeer(Optional)? dep|peer dependency|EBADENGINE/i;

/**
 * `npm install ARGS` as a user runs it, at npm's default log level, so that every warning npm prints is
 * read; fails if npm complains about the dependency tree, naming what it printed.
 */
export async function installWithoutTreeWarnings(shell: Shell, args: readonly string[]): Promise<Finished> {
  const result = await shell.ok("npm", ["install", "--prefer-offline", "--loglevel=warn", ...args]);
  const complaints = `${result.stdout}\n${result.stderr}`.split("\n").filter((line) => TREE_COMPLAINT.test(line));
  if (complaints.length > 0) throw new Error(`npm install ${args.join(" ")} in ${shell.cwd} complained about the dependency tree:\n${complaints.join("\n")}`);
  return result;
}
