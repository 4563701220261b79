/**
 * The web server behind `mqtt-contracts ui`: static files only (the page built into `dist/ui/`, plus the
 * `config.json` it reads at start), read once into memory, with their content types and a strict Content
 * Security Policy. No file system path ever comes from a request, so nothing outside the page is served.
 * It listens on the loopback interface unless told otherwise.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigurationError } from "../errors/errors.js";

export interface UiServerOptions {
  /** Where the built page is (index.html, app.js, app.css). */
  assetsDir: string;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port; 0 picks a free one. Default 0. */
  port?: number;
  /** Serve on an address other than the loopback interface. Default false: such a host is refused. */
  allowRemote?: boolean;
  /** The broker's WebSocket URL the page connects to at start (without credentials: those are typed in the page). */
  brokerUrl?: string;
}

export interface UiServer {
  /** `http://host:port/`: the page. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** What the page reads at start: the broker to connect to. */
export interface UiConfig {
  brokerUrl: string | null;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * Scripts and styles from this server only, no inline script; the page talks to MQTT brokers over WebSocket
 * (any host: the broker is the user's choice) and to nothing else. Inline styles are allowed because the form
 * and chart libraries set element styles.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self' ws: wss:",
  // mqtt.js keeps its keepalive timer in a worker made from a blob, so that a background tab's timers are not throttled.
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cache-control": "no-store",
};

/** Whether `host` names the loopback interface only. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return bare === "localhost" || bare === "::1" || /^127(\.\d{1,3}){3}$/.test(bare);
}

/** The broker URL without user name or password: those never go into the page's config or any URL. */
export function withoutCredentials(url: string): string {
  if (!URL.canParse(url)) throw new ConfigurationError(`the broker URL does not parse: ${JSON.stringify(url.replace(/\/\/[^@/]*@/, "//***@"))}`);
  const parsed = new URL(url);
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw new ConfigurationError(`the page connects to the broker over WebSocket: the URL must start with ws:// or wss://, got ${parsed.protocol}//`);
  }
  parsed.username = "";
  parsed.password = "";
  return parsed.href;
}

/** Start serving the page. Rejects with a `ConfigurationError` for a non-loopback host without `allowRemote`. */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const host = options.host ?? "127.0.0.1";
  if (!isLoopbackHost(host) && options.allowRemote !== true) {
    throw new ConfigurationError(`refusing to serve the UI on ${host}, which is not a loopback address: anyone who reaches it could call your services; pass --allow-remote to do it anyway`);
  }
  const config: UiConfig = { brokerUrl: options.brokerUrl === undefined ? null : withoutCredentials(options.brokerUrl) };
  const files = await loadAssets(options.assetsDir);
  files.set("/config.json", { type: CONTENT_TYPES[".json"]!, body: Buffer.from(JSON.stringify(config)) });
  const server = createServer((request, response) => serve(files, request, response));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface Asset {
  type: string;
  body: Buffer;
}

/** The page's files, by URL path (`/app.js`); `/` is index.html. Only the folder's own regular files, no subfolders. */
async function loadAssets(dir: string): Promise<Map<string, Asset>> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name);
  } catch (error) {
    throw new ConfigurationError(`the UI's page is not built at ${dir} (${(error as Error).message}); in a clone, npm run build makes it`);
  }
  if (!names.includes("index.html")) throw new ConfigurationError(`the UI's page is not built at ${dir}: index.html is missing; in a clone, npm run build makes it`);
  const files = new Map<string, Asset>();
  for (const name of names) {
    const type = CONTENT_TYPES[name.slice(name.lastIndexOf("."))];
    if (type === undefined) continue;
    files.set(`/${name}`, { type, body: await readFile(join(dir, name)) });
  }
  files.set("/", files.get("/index.html")!);
  return files;
}

function serve(files: Map<string, Asset>, request: IncomingMessage, response: ServerResponse): void {
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { ...SECURITY_HEADERS, allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("method not allowed\n");
    return;
  }
  // The path is looked up in the map of files read at start, never joined to a folder: "..", "%2e%2e" or
  // an absolute path simply find nothing.
  const path = (request.url ?? "/").split("?")[0]!;
  const asset = files.get(path);
  if (asset === undefined) {
    response.writeHead(404, { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8" }).end("not found\n");
    return;
  }
  response.writeHead(200, { ...SECURITY_HEADERS, "content-type": asset.type, "content-length": asset.body.byteLength });
  response.end(request.method === "HEAD" ? undefined : asset.body);
}
