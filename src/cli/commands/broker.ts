import { startBroker } from "../../broker/embedded-broker.js";
import { CommunicationError } from "../../errors/errors.js";
import type { CliIo } from "../cli-io.js";
import { ExitCode } from "../exit-codes.js";

export interface BrokerArgs {
  host: string;
  port: number;
}

/** `mqtt-contracts broker`: the embedded broker until SIGINT or SIGTERM. */
export async function brokerCommand(args: BrokerArgs, io: CliIo): Promise<ExitCode> {
  let broker;
  try {
    broker = await startBroker({ host: args.host, port: args.port });
  } catch (error) {
    if (!(error instanceof CommunicationError)) throw error;
    io.err(`mqtt-contracts: ${error.message}`);
    return ExitCode.Unavailable;
  }
  const stop = io.waitForStop(); // listening before the URL is printed: whoever reads it may signal at once
  io.out(`mqtt-contracts broker listening on ${broker.url} (MQTT 3.1.1); Ctrl-C to stop`);
  const signal = await stop;
  io.out(`${signal} received; stopping the broker`);
  await broker.close();
  return ExitCode.Ok;
}
