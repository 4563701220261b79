/**
 * The browser example, with one command: `npm run example:browser [-- --port <page port>]`.
 *
 * Starts the embedded broker with a WebSocket port, the example agent (examples/example-agent.ts) on it,
 * bundles the page (page.ts, with esbuild for the browser) and serves it on 127.0.0.1, then prints the
 * page's URL. Open it: the page connects to the broker over WebSocket and calls the example service
 * with the generated client. Ctrl-C stops everything.
 */
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { startBroker } from "mqtt-contracts";
import { MqttExampleAgent } from "../example-agent.js";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** The example service's agent name and so its topic prefix, as in `npm run example`. */
const SERVICE = "mqtt_example_agent";

export interface BrowserExample {
  /** The page: `http://127.0.0.1:<port>/`. */
  readonly url: string;
  /** The broker's WebSocket URL that the page connects to. */
  readonly wsUrl: string;
  close(): Promise<void>;
}

/** The page, bundled for browsers: `mqtt-contracts` resolves to its browser entry (the `browser` condition). */
export async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [here("./page.ts")],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify: true,
    write: false,
    // Inside this repository, import mqtt-contracts from its sources (a project that installed it needs no condition).
    conditions: ["@mqtt-contracts/source"],
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

export async function startBrowserExample(options: { port?: number } = {}): Promise<BrowserExample> {
  const [script, html] = await Promise.all([bundlePage(), readFile(here("./index.html"), "utf8")]);
  const broker = await startBroker({ wsPort: 0 });
  const agent = new MqttExampleAgent({ name: SERVICE, communicatorType: "mqtt", communicatorOptions: { url: broker.url } });
  let server: Server | undefined;
  try {
    await agent.start();
    const config = JSON.stringify({ wsUrl: broker.wsUrl, service: SERVICE });
    // Three fixed files and nothing else: no path from the request reaches the file system.
    const files: Record<string, [type: string, body: string]> = {
      "/": ["text/html; charset=utf-8", html],
      "/page.js": ["text/javascript; charset=utf-8", script],
      "/config.json": ["application/json", config],
    };
    server = createServer((request, response) => {
      const file = request.method === "GET" ? files[new URL(request.url ?? "/", "http://localhost").pathname] : undefined;
      if (file === undefined) {
        response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        return;
      }
      response.writeHead(200, { "content-type": file[0], "cache-control": "no-store", "x-content-type-options": "nosniff" }).end(file[1]);
    });
    await new Promise<void>((resolve, reject) => {
      server!.once("error", reject);
      server!.listen(options.port ?? 0, "127.0.0.1", resolve);
    });
  } catch (error) {
    server?.close();
    await agent.stop();
    await broker.close();
    throw error;
  }
  const listening = server;
  return {
    url: `http://127.0.0.1:${(listening.address() as AddressInfo).port}/`,
    wsUrl: broker.wsUrl!,
    async close() {
      const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
      listening.closeAllConnections();
      await agent.stop();
      await broker.close();
      await closed;
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: "string" } }, strict: true });
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port must be a whole number from 0 to 65535, got ${JSON.stringify(values.port)}`);
  const example = await startBrowserExample({ port });
  console.log(`The example service ${SERVICE} runs on the embedded broker, which browsers reach at ${example.wsUrl}.`);
  console.log(`Open ${example.url} in a browser; Ctrl-C to stop`);
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  console.log(`${signal} received; stopping`);
  await example.close();
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
      process.exit(1);
    },
  );
}
