import { createServer, type AddressInfo, type Server } from "node:net";
import type { Duplex } from "node:stream";
import type { Aedes, AedesOptions } from "aedes";
import { CommunicationError } from "../errors/errors.js";
import { inProcessStream } from "./in-process-stream.js";

export interface StartBrokerOptions {
  /** Interface to listen on. Default `127.0.0.1`: reachable from this machine only. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 0. */
  port?: number;
  /** Passed to aedes, e.g. `authenticate` or `authorizePublish` hooks. */
  aedes?: AedesOptions;
}

export interface EmbeddedBroker {
  /** `mqtt://host:port`, ready for `communicatorOptions.url`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The aedes instance, for hooks and events. */
  readonly aedes: Aedes;
  /** A new in-process connection to the broker, with no socket: use as `communicatorOptions.streamBuilder`. */
  connectStream(): Duplex;
  /** Disconnect every client and stop listening. */
  close(): Promise<void>;
}

/**
 * Start an embedded MQTT 3.1.1 broker (aedes) on `host:port`. Zero setup: nothing to install.
 * Rejects with a `CommunicationError` naming the address if the port is taken.
 */
export async function startBroker(options: StartBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? "127.0.0.1";
  const requestedPort = options.port ?? 0;
  // Loaded on demand: agents that only connect to a broker should not carry aedes in memory.
  const { Aedes: AedesBroker } = await import("aedes");
  const aedes = await AedesBroker.createBroker(options.aedes);
  // Nagle's algorithm would hold each small packet until the previous one is ACKed (~40 ms with
  // delayed ACKs) whenever a PUBACK and a PUBLISH go to the same client in separate writes.
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    aedes.handle(socket);
  });
  try {
    await listen(server, host, requestedPort);
  } catch (error) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "EADDRINUSE" ? "the port is already in use" : code === "EACCES" ? "permission denied" : (error as Error).message;
    throw new CommunicationError(`Cannot start the embedded broker on ${host}:${requestedPort}: ${reason}`, { target: `${host}:${requestedPort}`, cause: error });
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `mqtt://${urlHost}:${port}`,
    host,
    port,
    aedes,
    connectStream() {
      return inProcessStream(aedes.handle);
    },
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        await serverClosed;
      })();
      return closing;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
