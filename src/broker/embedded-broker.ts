import type { EventEmitter } from "node:events";
import { createServer, isIP, type AddressInfo, type Server } from "node:net";
import type { Duplex } from "node:stream";
import type { Aedes, AedesOptions } from "aedes";
import { CommunicationError, ConfigurationError } from "../errors/errors.js";
import { protectSecret, REDACTED, redactUrl } from "../log/redact.js";
import { inProcessStream } from "./in-process-stream.js";

export interface StartBrokerOptions {
  /** Interface to listen on. Default `127.0.0.1`: reachable from this machine only. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 0. */
  port?: number;
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
  let closing: Promise<void> | undefined;
  return {
    url: `mqtt://${urlHost}:${port}`,
    host,
    port,
    redis: redisTarget?.masked,
    aedes,
    connectStream() {
      return inProcessStream(aedes.handle);
    },
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await closeAedes();
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

// ---------------------------------------------------------------------------------------------
// Joining through Redis

const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 10_000;
/** How long `close()` waits for aedes and the persistence to finish with Redis before it drops the connections. */
const REDIS_CLOSE_GRACE_MS = 2_000;
const REDIS_PROTOCOLS = ["redis:", "rediss:"];

/** What `redis` says to connect to, as ioredis options, and the URL with its password masked. */
interface RedisTarget {
  masked: string;
  host: string;
  port: number;
  db: number;
  username: string | undefined;
  password: string | undefined;
  tls: boolean;
}

/** The URL, safe to print: its password masked, even where `redactUrl` cannot find it (a URL that does not parse). */
function maskRedisUrl(url: string): string {
  const masked = redactUrl(url);
  const scheme = masked.indexOf("://");
  const at = masked.lastIndexOf("@");
  if (scheme < 0 || at < scheme) return masked;
  const userinfo = masked.slice(scheme + 3, at);
  if (!userinfo.includes(":") || userinfo.endsWith(`:${REDACTED}`)) return masked;
  return `${masked.slice(0, scheme + 3)}${REDACTED}${masked.slice(at)}`;
}

/** Check `url` (`redis://[[user]:password@]host[:port][/db]`) without connecting. Throws a `ConfigurationError` naming it, password masked. */
function parseRedisUrl(url: unknown): RedisTarget {
  const shown = typeof url === "string" ? maskRedisUrl(url) : String(typeof url);
  const bad = (why: string) =>
    new ConfigurationError(`redis must be a URL like redis://host:6379 or redis://:password@host:6379/0 (${why}), got ${typeof url === "string" ? JSON.stringify(shown) : shown}`, { target: shown });
  if (typeof url !== "string" || !URL.canParse(url)) throw bad("not a URL");
  const parsed = new URL(url);
  if (!REDIS_PROTOCOLS.includes(parsed.protocol)) throw bad(`the scheme must be redis:// or rediss://, not ${parsed.protocol}//`);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw bad("no host");
  if (parsed.search !== "" || parsed.hash !== "") throw bad("query parameters and fragments are not supported");
  const dbMatch = /^\/?(\d{0,5})$/.exec(parsed.pathname);
  if (dbMatch === null) throw bad(`the path must be a database number, not ${JSON.stringify(parsed.pathname)}`);
  const port = parsed.port === "" ? 6379 : Number(parsed.port);
  if (port === 0) throw bad("port 0");
  let username: string | undefined;
  let password: string | undefined;
  try {
    username = parsed.username === "" ? undefined : decodeURIComponent(parsed.username);
    password = parsed.password === "" ? undefined : decodeURIComponent(parsed.password);
  } catch {
    throw bad("a user name or password that is not valid percent-encoding");
  }
  return { masked: maskRedisUrl(parsed.href), host, port, db: Number(dbMatch[1] || "0"), username, password, tls: parsed.protocol === "rediss:" };
}

/** The part of an ioredis connection this module uses (ioredis itself is a dependency of the two packages, not of ours). */
interface RedisConnection extends EventEmitter {
  readonly status: string;
  disconnect(): void;
  duplicate(override?: Record<string, unknown>): RedisConnection;
}

/** mqemitter-redis: an mqemitter whose two ioredis connections are public, and whose errors come out of `state`. */
interface RedisEmitter {
  readonly subConn: RedisConnection;
  readonly pubConn: RedisConnection;
  readonly state: EventEmitter;
}

interface RedisPersistence {
  destroy(): Promise<void>;
}

/** A Redis joined: the two aedes plug-ins on three Redis connections, and how to close them. */
interface RedisJoin {
  createBroker(aedesClass: typeof Aedes, options: AedesOptions | undefined): Promise<Aedes>;
  close(aedes: Aedes): Promise<void>;
}

/**
 * aedes-persistence-redis ships no types; a specifier typed as a string keeps TypeScript from looking
 * for them, and the module's shape is declared just below where it is used.
 */
const PERSISTENCE_MODULE: string = "aedes-persistence-redis";

/** Connect to Redis as `target` says; resolves once all three connections are ready. */
async function joinRedis(target: RedisTarget, timeoutMs: number, onRedisError: ((error: CommunicationError) => void) | undefined): Promise<RedisJoin> {
  if (target.password !== undefined) protectSecret(target.password);
  const [{ default: createEmitter }, persistenceModule] = await Promise.all([import("mqemitter-redis"), import(PERSISTENCE_MODULE) as Promise<{ default: (options: object) => RedisPersistence }>]);
  const deadline = Date.now() + timeoutMs;
  const redisOptions = {
    host: target.host,
    port: target.port,
    db: target.db,
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.tls ? { tls: isIP(target.host) === 0 ? { servername: target.host } : {} } : {}),
    // Any address family: `localhost` may be ::1 only; ioredis alone would look up IPv4 only.
    family: 0,
    connectTimeout: timeoutMs,
    // The name shows in Redis's CLIENT LIST, which helps whoever looks for the brokers' connections.
    connectionName: "mqtt-contracts-broker",
  };
  const mq = createEmitter(redisOptions) as unknown as RedisEmitter;
  // The persistence's connection is made from the emitter's, with the same options: ioredis itself
  // is not a dependency of this package. mqemitter-redis turns on auto-pipelining for its own.
  const persistenceConnection = mq.pubConn.duplicate({ enableAutoPipelining: false });
  const persistence = persistenceModule.default({ conn: persistenceConnection });
  const connections = [mq.subConn, mq.pubConn, persistenceConnection];
  const dropConnections = () => {
    for (const connection of connections) connection.disconnect();
  };
  const reason = (cause: unknown) => redactUrl(cause instanceof Error ? cause.message : String(cause));
  const failure = (cause: unknown) => new CommunicationError(`Cannot join the brokers of Redis at ${target.masked}: ${reason(cause)}`, { target: target.masked, cause });

  // Until the connections are ready, the first error fails the start; after, errors go to onRedisError.
  let startError: ((error: unknown) => void) | undefined;
  const onError = (error: unknown) => {
    if (startError !== undefined) startError(error);
    else onRedisError?.(new CommunicationError(`Redis at ${target.masked}: ${reason(error)}`, { target: target.masked, cause: error }));
  };
  // mqemitter-redis re-emits its connections' errors on `state`, which throws when nobody listens.
  mq.state.on("error", onError);
  persistenceConnection.on("error", onError);

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => settle(() => reject(failure(new Error(`no ready connection within ${timeoutMs} ms`)))), timeoutMs);
      const onReady = () => {
        if (connections.every((connection) => connection.status === "ready")) settle(resolve);
      };
      const settle = (then: () => void) => {
        clearTimeout(timer);
        startError = undefined;
        for (const connection of connections) connection.off("ready", onReady);
        then();
      };
      startError = (error) => settle(() => reject(failure(error)));
      for (const connection of connections) connection.on("ready", onReady);
      onReady();
    });
  } catch (error) {
    dropConnections();
    throw error;
  }

  const closeAll = async (aedes: Aedes | undefined) => {
    // aedes closes its clients (which updates their sessions in Redis), then the emitter, whose
    // connections QUIT; then the persistence lets go of its connection. While Redis is down, ioredis
    // keeps such commands queued for ever, so after a grace period the connections are dropped
    // instead: nothing is left running, and the other brokers treat this one as one that died (they
    // publish the wills it left in Redis once its heartbeats stop).
    const graceful = await within(aedes === undefined ? Promise.resolve() : new Promise<void>((resolve) => aedes.close(() => resolve())), REDIS_CLOSE_GRACE_MS);
    if (graceful) await within(persistence.destroy().catch(() => undefined), REDIS_CLOSE_GRACE_MS);
    dropConnections();
    mq.state.off("error", onError);
    persistenceConnection.off("error", onError);
    // A dropped connection reports nothing more, but keep a listener so that nothing can throw.
    mq.state.on("error", () => undefined);
    persistenceConnection.on("error", () => undefined);
  };

  return {
    async createBroker(aedesClass, options) {
      const pending = aedesClass.createBroker({ ...options, mq, persistence });
      const remaining = Math.max(deadline - Date.now(), 1);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(failure(new Error(`the broker's state was not loaded within ${timeoutMs} ms`))), remaining);
      });
      try {
        return await Promise.race([pending, timedOut]);
      } catch (error) {
        // A broker that starts after all would keep timers running: close it whenever it comes.
        pending.then((late) => closeAll(late), () => closeAll(undefined)).catch(() => undefined);
        dropConnections();
        throw error instanceof CommunicationError ? error : failure(error);
      } finally {
        clearTimeout(timer);
      }
    },
    close: (aedes) => closeAll(aedes),
  };
}

/** Whether `work` settled within `ms`. */
async function within(work: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
