import { createServer, type AddressInfo, type Server } from "node:net";
import type { Duplex } from "node:stream";
import type { Aedes, AedesOptions } from "aedes";
import { CommunicationError, ConfigurationError } from "../errors/errors.js";
import { inProcessStream } from "./in-process-stream.js";
import { DEFAULT_REDIS_CONNECT_TIMEOUT_MS, joinRedis, parseRedisUrl, type RedisJoin } from "./redis-join.js";
import { listenWebSocket, type WebSocketListener } from "./websocket-listener.js";

export interface StartBrokerOptions {
  /** Interface to listen on. Default `127.0.0.1`: reachable from this machine only. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 0. */
  port?: number;
  /**
   * Also serve MQTT over WebSocket on this port of `host` (0 picks a free one), for browsers:
   * `ws://host:wsPort` (see `EmbeddedBroker.wsUrl`). Default: no WebSocket listener. For `wss://`, put a
   * TLS-terminating proxy in front of it.
   */
  wsPort?: number;
  /**
   * With `wsPort`: the page origins (`https://dash.example.com`, as browsers send them in the `Origin`
   * header) whose pages may connect over WebSocket; `["*"]` lets any page in. Default: pages served
   * from this machine (`http(s)://localhost`, `127.0.0.1` or `[::1]`, any port). Clients that are not
   * browsers send no origin and may always connect, as on the TCP port. Browsers let any web site open
   * a WebSocket to any address, so this is what keeps a site the user visits off a broker without
   * authentication on their machine.
   */
  wsOrigins?: readonly string[];
  /** Passed to aedes, e.g. `authenticate` or `authorizePublish` hooks. */
  aedes?: AedesOptions;
  /**
   * `redis://[[user]:password@]host[:port][/db]` (`rediss://` for TLS; port 6379 and db 0 by default):
   * join every embedded broker started with the same Redis and db into one broker. Messages go
   * between them through Redis pub/sub (`mqemitter-redis`), and sessions, subscriptions, retained
   * messages and wills are kept in Redis (`aedes-persistence-redis`), so a client of one broker can
   * call a service connected to another, and the will of a client of a broker that died is published
   * by the others. Both packages are loaded only when this is set.
   *
   * `startBroker` waits for Redis up to `redisConnectTimeoutMs` and rejects at the first connection
   * error (refused, unknown host, bad password, db out of range): a `CommunicationError` naming the
   * URL, with its password masked. A URL that does not parse is a `ConfigurationError`, at once. Once
   * started, a lost Redis connection is retried for ever (see `onRedisError`), and `close()` closes
   * the Redis connections too.
   */
  redis?: string;
  /** With `redis`: how long `startBroker` waits for Redis, in ms. Default 10 000. */
  redisConnectTimeoutMs?: number;
  /**
   * With `redis`: called with each error of a Redis connection after the start, e.g. while Redis is
   * down (the connections reconnect by themselves). Default: ignored.
   */
  onRedisError?: (error: CommunicationError) => void;
}

export interface EmbeddedBroker {
  /** `mqtt://host:port`, ready for `communicatorOptions.url`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** With `StartBrokerOptions.wsPort`: `ws://host:port`, for browsers and any mqtt.js client. */
  readonly wsUrl: string | undefined;
  /** With `StartBrokerOptions.wsPort`: the WebSocket port (the one picked, for 0). */
  readonly wsPort: number | undefined;
  /** With `StartBrokerOptions.redis`: the Redis URL this broker joined through, with its password masked. */
  readonly redis: string | undefined;
  /** The aedes instance, for hooks and events. */
  readonly aedes: Aedes;
  /** A new in-process connection to the broker, with no socket: use as `communicatorOptions.streamBuilder`. */
  connectStream(): Duplex;
  /** Disconnect every client and stop listening; with `redis`, close the Redis connections too. */
  close(): Promise<void>;
}

/**
 * Start an embedded MQTT 3.1.1 broker (aedes) on `host:port`. Zero setup: nothing to install.
 * Rejects with a `CommunicationError` naming the address if the port is taken. With `redis`, it
 * joins the other embedded brokers of that Redis (see `StartBrokerOptions.redis`).
 */
export async function startBroker(options: StartBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? "127.0.0.1";
  const requestedPort = options.port ?? 0;
  // Checked before anything is loaded or connected: a typo fails at once.
  const redisTarget = options.redis === undefined ? undefined : parseRedisUrl(options.redis);
  if (redisTarget !== undefined && (options.aedes?.mq !== undefined || options.aedes?.persistence !== undefined)) {
    throw new ConfigurationError(`redis (${redisTarget.masked}) sets the broker's mq and persistence; do not also pass aedes.mq or aedes.persistence`, { target: redisTarget.masked });
  }
  const wsPort = options.wsPort;
  if (wsPort !== undefined && (!Number.isInteger(wsPort) || wsPort < 0 || wsPort > 65_535)) {
    throw new ConfigurationError(`wsPort must be an integer from 0 to 65535, got ${JSON.stringify(wsPort)}`);
  }
  const redisTimeoutMs = options.redisConnectTimeoutMs ?? DEFAULT_REDIS_CONNECT_TIMEOUT_MS;
  if (!Number.isInteger(redisTimeoutMs) || redisTimeoutMs <= 0) {
    throw new ConfigurationError(`redisConnectTimeoutMs must be a positive integer (ms), got ${JSON.stringify(options.redisConnectTimeoutMs)}`);
  }
  // Loaded on demand: agents that only connect to a broker should not carry aedes in memory.
  const { Aedes: AedesBroker } = await import("aedes");
  let redis: RedisJoin | undefined;
  let aedes: Aedes;
  if (redisTarget === undefined) {
    aedes = await AedesBroker.createBroker(options.aedes);
  } else {
    redis = await joinRedis(redisTarget, redisTimeoutMs, options.onRedisError);
    aedes = await redis.createBroker(AedesBroker, options.aedes);
  }
  const closeAedes = () => (redis === undefined ? new Promise<void>((resolve) => aedes.close(() => resolve())) : redis.close(aedes));
  // Nagle's algorithm would hold each small packet until the previous one is ACKed (~40 ms with
  // delayed ACKs) whenever a PUBACK and a PUBLISH go to the same client in separate writes.
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    aedes.handle(socket);
  });
  try {
    await listen(server, host, requestedPort);
  } catch (error) {
    await closeAedes();
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "EADDRINUSE" ? "the port is already in use" : code === "EACCES" ? "permission denied" : (error as Error).message;
    throw new CommunicationError(`Cannot start the embedded broker on ${host}:${requestedPort}: ${reason}`, { target: `${host}:${requestedPort}`, cause: error });
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  let ws: WebSocketListener | undefined;
  if (wsPort !== undefined) {
    try {
      ws = await listenWebSocket((stream, request) => aedes.handle(stream, request), host, wsPort, options.wsOrigins);
    } catch (error) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeAedes();
      throw error;
    }
  }
  let closing: Promise<void> | undefined;
  return {
    url: `mqtt://${urlHost}:${port}`,
    host,
    port,
    wsUrl: ws === undefined ? undefined : `ws://${urlHost}:${ws.port}`,
    wsPort: ws?.port,
    redis: redisTarget?.masked,
    aedes,
    connectStream() {
      return inProcessStream(aedes.handle);
    },
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        const wsClosed = ws?.close();
        await closeAedes();
        await serverClosed;
        await wsClosed;
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
