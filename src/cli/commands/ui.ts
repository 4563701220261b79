import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CommunicationError, ConfigurationError } from "../../errors/errors.js";
import { startUiServer, withoutCredentials } from "../../ui/server.js";
import type { CliIo } from "../cli-io.js";
import { ExitCode } from "../exit-codes.js";

export interface UiArgs {
  host: string;
  port: number;
  allowRemote: boolean;
  /** The broker's WebSocket URL the page connects to at start; without it, the user types one in the page. */
  url: string | undefined;
  /** Where the built page is. Default: dist/ui/ of this package. */
  assetsDir?: string;
}

/** `mqtt-contracts ui`: serve the web page until SIGINT or SIGTERM. */
export async function uiCommand(args: UiArgs, io: CliIo): Promise<ExitCode> {
  let server;
  try {
    const brokerUrl = args.url === undefined ? undefined : withoutCredentials(args.url);
    if (args.url !== undefined && brokerUrl !== args.url && new URL(args.url).password !== "") {
      io.err("mqtt-contracts: the password in --url is not given to the page (it would show in the page's config): type it in the page");
    }
    server = await startUiServer({ assetsDir: args.assetsDir ?? defaultAssetsDir(), host: args.host, port: args.port, allowRemote: args.allowRemote, ...(brokerUrl === undefined ? {} : { brokerUrl }) });
  } catch (error) {
    if (error instanceof ConfigurationError) {
      io.err(`mqtt-contracts: ${error.message}`);
      return ExitCode.Usage;
    }
    const code = (error as { code?: unknown }).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      io.err(`mqtt-contracts: cannot serve the UI on ${args.host}:${args.port} (${String(code)}); --port 0 picks a free port`);
      return ExitCode.Unavailable;
    }
    if (error instanceof CommunicationError) {
      io.err(`mqtt-contracts: ${error.message}`);
      return ExitCode.Unavailable;
    }
    throw error;
  }
  const stop = io.waitForStop(); // listening before the URL is printed: whoever reads it may signal at once
  const broker = args.url === undefined ? "type the broker's ws:// URL in the page" : `broker ${withoutCredentials(args.url)}`;
  io.out(`mqtt-contracts ui on ${server.url} (${broker}); Ctrl-C to stop`);
  const signal = await stop;
  io.out(`${signal} received; stopping the UI`);
  await server.close();
  return ExitCode.Ok;
}

/** dist/ui/ of this package: found from this file, in dist/src/cli/commands/ once built (or src/cli/commands/ in a clone). */
function defaultAssetsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown }).name === "mqtt-contracts") return join(dir, "dist", "ui");
    dir = dirname(dir);
  }
  throw new ConfigurationError("cannot find the mqtt-contracts package's folder, where the UI's page is built (dist/ui/)");
}
