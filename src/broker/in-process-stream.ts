import { duplexPair, type Duplex } from "node:stream";

/**
 * A connection to an in-process broker with no socket: one end goes to `handle` (e.g.
 * `aedes.handle`), the other is returned for the client. `duplexPair()` does not tell one end that
 * the other closed, and mqtt.js waits for its stream's `close` when it disconnects, so the two ends'
 * lifetimes are linked here.
 */
export function inProcessStream(handle: (stream: Duplex) => unknown): Duplex {
  const [client, server] = duplexPair();
  server.once("close", () => client.destroy());
  client.once("close", () => server.destroy());
  handle(server);
  return client;
}
