import { startBroker } from "../../broker/embedded-broker.js";
import { CommunicationError, ConfigurationError } from "../../errors/errors.js";
import type { CliIo } from "../cli-io.js";
import { ExitCode } from "../exit-codes.js";

export interface BrokerArgs {
  host: string;
  port: number;
  /** Also serve MQTT over WebSocket on this port (0 picks a free one). */
  wsPort?: number;
  /** With `wsPort`: the page origins let in (default: pages served from this machine). */
  wsOrigins?: string[];
  /** `redis://[[user]:password@]host[:port][/db]`: join the other embedded brokers of this Redis. */
  redis?: string;
}

/** `mqtt-contracts broker`: the embedded broker until SIGINT or SIGTERM. */
export async function brokerCommand(args: BrokerArgs, io: CliIo): Promise<ExitCode> {
  let broker;
  // While Redis is down its connections retry several times a second: print each new reason once.
  let lastRedisError: string | undefined;
  try {
    broker = await startBroker({
      host: args.host,
      port: args.port,
      ...(args.wsPort === undefined ? {} : { wsPort: args.wsPort }),
      ...(args.wsOrigins === undefined ? {} : { wsOrigins: args.wsOrigins }),
      ...(args.redis === undefined
        ? {}
        : {
            redis: args.redis,
            onRedisError: (error) => {
              if (error.message === lastRedisError) return;
              lastRedisError = error.message;
              io.err(`mqtt-contracts: ${error.message} (reconnecting)`);
            },
          }),
    });
  } catch (error) {
    if (error instanceof ConfigurationError) {
      io.err(`mqtt-contracts: ${error.message}`);
      return ExitCode.Usage;
    }
    if (!(error instanceof CommunicationError)) throw error;
    io.err(`mqtt-contracts: ${error.message}`);
    return ExitCode.Unavailable;
  }
  const stop = io.waitForStop(); // listening before the URL is printed: whoever reads it may signal at once
  const joined = broker.redis === undefined ? "" : `, joined through Redis ${broker.redis}`;
  const ws = broker.wsUrl === undefined ? "" : ` and ${broker.wsUrl} (MQTT over WebSocket)`;
  io.out(`mqtt-contracts broker listening on ${broker.url} (MQTT 3.1.1${joined})${ws}; Ctrl-C to stop`);
  const signal = await stop;
  io.out(`${signal} received; stopping the broker`);
  await broker.close();
  return ExitCode.Ok;
}
