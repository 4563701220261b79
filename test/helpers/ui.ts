/**
 * What the UI tests share: the page built into a temp folder (as `npm run build` builds dist/ui/), the `ui`
 * command run in-process with a `CliIo` that records what it prints and stops on demand.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildUi, type BuiltUi } from "../../src/ui/build.js";
import type { CliIo } from "../../src/cli/cli-io.js";
import { uiCommand, type UiArgs } from "../../src/cli/commands/ui.js";

export async function buildUiInTemp(): Promise<BuiltUi & { remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "mqtt-contracts-ui-"));
  const built = await buildUi(dir);
  return { ...built, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface RunningUi {
  /** The page's URL, as the command printed it. */
  url: string;
  out: string[];
  err: string[];
  /** Send the stop signal and wait for the command's exit code. */
  stop(): Promise<number>;
}

/** Run `uiCommand` until `stop()`; resolves once it printed the page's URL. */
export async function runUi(args: Omit<UiArgs, "host" | "port" | "allowRemote"> & Partial<UiArgs>): Promise<RunningUi> {
  const out: string[] = [];
  const err: string[] = [];
  let signal!: (name: string) => void;
  const stopped = new Promise<string>((resolve) => (signal = resolve));
  let printed!: (line: string) => void;
  const urlLine = new Promise<string>((resolve) => (printed = resolve));
  const io: CliIo = {
    out: (line) => {
      out.push(line);
      printed(line);
    },
    err: (line) => void err.push(line),
    env: {},
    cwd: process.cwd(),
    waitForStop: () => stopped,
  };
  const exit = uiCommand({ host: "127.0.0.1", port: 0, allowRemote: false, ...args }, io);
  const line = await Promise.race([urlLine, exit.then((code) => Promise.reject(new Error(`ui exited ${code}: ${err.join("\n")}`)))]);
  const url = /on (http:\/\/\S+) /.exec(line)?.[1];
  if (url === undefined) throw new Error(`no URL in ${JSON.stringify(line)}`);
  return {
    url,
    out,
    err,
    stop: async () => {
      signal("SIGTERM");
      return exit;
    },
  };
}
