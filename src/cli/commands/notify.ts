import { ConfigurationError, CommunicationError } from "../../errors/errors.js";
import type { CliIo } from "../cli-io.js";
import { connectClient, serviceOf, type ClientArgs } from "../client.js";
import { ExitCode } from "../exit-codes.js";
import { UsageError } from "../usage.js";

/** `mqtt-contracts notify`: publish one notification; succeeds once the broker has it. */
export async function notifyCommand(args: ClientArgs, io: CliIo): Promise<ExitCode> {
  const communicator = await connectClient(args, io);
  if (typeof communicator === "number") return communicator;
  try {
    await communicator.sendNotification(serviceOf(args), args.method, args.params);
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof ConfigurationError) throw new UsageError(error.message);
    if (error instanceof CommunicationError) {
      io.err(`mqtt-contracts: could not publish ${args.method} to ${args.prefix} (broker ${communicator.broker}): ${error.message}`);
      return ExitCode.Unavailable;
    }
    throw error;
  } finally {
    await communicator.stop();
  }
}
