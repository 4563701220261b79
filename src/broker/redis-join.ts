/**
 * Joining embedded brokers through Redis: the `redis` URL checked, mqemitter-redis and
 * aedes-persistence-redis set up on three connections, the wait for Redis, and its errors reported.
 * Used by `startBroker` (see `StartBrokerOptions.redis`).
 */
import type { EventEmitter } from "node:events";
import { isIP } from "node:net";
import type { Aedes, AedesOptions } from "aedes";
import { CommunicationError, ConfigurationError } from "../errors/errors.js";
import { protectSecret, REDACTED, redactUrl } from "../log/redact.js";

export const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 10_000;
/** How long `close()` waits for aedes and the persistence to finish with Redis before it drops the connections. */
const REDIS_CLOSE_GRACE_MS = 2_000;
const REDIS_PROTOCOLS = ["redis:", "rediss:"];

/** What `redis` says to connect to, as ioredis options, and the URL with its password masked. */
export interface RedisTarget {
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
export function parseRedisUrl(url: unknown): RedisTarget {
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
export interface RedisJoin {
  createBroker(aedesClass: typeof Aedes, options: AedesOptions | undefined): Promise<Aedes>;
  close(aedes: Aedes): Promise<void>;
}

/**
 * aedes-persistence-redis ships no types; a specifier typed as a string keeps TypeScript from looking
 * for them, and the module's shape is declared just below where it is used.
 */
const PERSISTENCE_MODULE: string = "aedes-persistence-redis";

/** Connect to Redis as `target` says; resolves once all three connections are ready. */
export async function joinRedis(target: RedisTarget, timeoutMs: number, onRedisError: ((error: CommunicationError) => void) | undefined): Promise<RedisJoin> {
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
