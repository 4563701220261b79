/**
 * MQTT over WebSocket for the embedded broker, as aedes documents it: an HTTP server whose upgrades a
 * `ws` WebSocketServer takes, each socket handed to aedes as a stream (`createWebSocketStream`). Browsers
 * connect here (`ws://host:wsPort`); so can any mqtt.js client.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { CommunicationError } from "../errors/errors.js";

export interface WebSocketListener {
  readonly port: number;
  close(): Promise<void>;
}

/** Hosts of the page origins let in when `wsOrigins` is not given: pages served from this machine. */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Whether a WebSocket upgrade with this `Origin` header may connect. Browsers send the page's origin
 * and let any page open a WebSocket to any host (there is no CORS for WebSocket), so without this check
 * every web site the user visits could talk MQTT to a broker on their machine. Clients that are not
 * browsers send no Origin and are let in, as on the TCP port.
 */
export function originAllowed(origin: string | undefined, allowed: readonly string[] | undefined): boolean {
  if (origin === undefined) return true;
  if (allowed !== undefined) return allowed.includes("*") || allowed.includes(origin);
  if (!URL.canParse(origin)) return false;
  const url = new URL(origin);
  return (url.protocol === "http:" || url.protocol === "https:") && LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * Listen for MQTT over WebSocket on `host:port` and hand each connection to `handle` (aedes's). Rejects
 * with a `CommunicationError` naming the address if the port is taken. `ws` is loaded only here.
 */
export async function listenWebSocket(handle: (stream: Duplex, request: IncomingMessage) => void, host: string, port: number, origins: readonly string[] | undefined): Promise<WebSocketListener> {
  const { WebSocketServer, createWebSocketStream } = await import("ws");
  const server: Server = createServer((_request, response) => {
    response.writeHead(426, { "content-type": "text/plain", connection: "close", upgrade: "websocket" });
    response.end("MQTT over WebSocket: connect with a WebSocket (ws:// or wss://), subprotocol mqtt\n");
  });
  const wss = new WebSocketServer({
    server,
    // MQTT's own limit on a packet; ws's default of 100 MiB would refuse larger ones first anyway.
    maxPayload: 256 * 1024 * 1024,
    verifyClient: ({ origin }: { origin?: string }) => originAllowed(origin === "" ? undefined : origin, origins),
    // mqtt.js asks for "mqtt" (MQTT 3.1.1 and 5), older clients for "mqttv3.1".
    handleProtocols: (protocols: Set<string>) => (protocols.has("mqtt") ? "mqtt" : protocols.has("mqttv3.1") ? "mqttv3.1" : false),
  });
  wss.on("connection", (socket, request) => {
    const stream = createWebSocketStream(socket);
    // A socket that breaks mid-frame errors its stream; aedes handles the close that follows.
    stream.on("error", () => undefined);
    handle(stream, request);
  });
  // Errors of the WebSocketServer itself are those of the HTTP server, which `listen` reports.
  wss.on("error", () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    wss.close();
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "EADDRINUSE" ? "the port is already in use" : code === "EACCES" ? "permission denied" : (error as Error).message;
    throw new CommunicationError(`Cannot start the embedded broker's WebSocket listener on ${host}:${port}: ${reason}`, { target: `${host}:${port}`, cause: error });
  }
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      return new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
