import { ConfigurationError, CommunicationError, RequestTimeoutError, RpcError } from "../../errors/errors.js";
import type { CliIo } from "../cli-io.js";
import { connectClient, requestTopicOf, serviceOf, type ClientArgs } from "../client.js";
import { ExitCode } from "../exit-codes.js";
import { UsageError } from "../usage.js";

export interface CallArgs extends ClientArgs {
  timeoutMs: number;
}

/** `mqtt-contracts call`: one request, its result as one line of JSON on stdout. */
export async function callCommand(args: CallArgs, io: CliIo): Promise<ExitCode> {
  const communicator = await connectClient(args, io);
  if (typeof communicator === "number") return communicator;
  try {
    const result = await communicator.sendRequest(serviceOf(args), args.method, args.params, { timeoutMs: args.timeoutMs });
    io.out(JSON.stringify(result === undefined ? null : result));
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof RpcError) {
      const openmasCode = args.wireFormat === "openmas" ? (error.details as { code?: unknown } | undefined)?.code : undefined;
      const name = [error.codeName, typeof openmasCode === "number" ? `OpenMAS code ${openmasCode}` : undefined].filter((part) => part !== undefined).join("; ");
      const label = name === "" ? "" : ` (${name})`;
      io.err(`mqtt-contracts: ${args.prefix} answered ${args.method} with error ${error.code}${label}: ${error.message}`);
      if (error.data !== undefined) io.err(`data: ${JSON.stringify(error.data)}`);
      return ExitCode.RemoteError;
    }
    if (error instanceof RequestTimeoutError && (error.details as { code?: unknown } | undefined)?.code === 408) {
      // An OpenMAS-format server answered: the request's deadline had passed there before it could run.
      io.err(`mqtt-contracts: ${args.prefix} answered ${args.method} with OpenMAS code 408: ${error.message}`);
      return ExitCode.Unavailable;
    }
    if (error instanceof RequestTimeoutError) {
      io.err(
        `mqtt-contracts: no response to ${args.method} from ${args.prefix} within ${args.timeoutMs} ms on ${communicator.broker}` +
          ` (is a service subscribed to ${requestTopicOf(args)}? A broker whose ACL denies this client the publish, or the subscription to its response topic, may drop the messages without an error: Mosquitto does over MQTT 3.1.1)`,
      );
      return ExitCode.Unavailable;
    }
    if (error instanceof ConfigurationError) throw new UsageError(error.message);
    if (error instanceof CommunicationError) {
      io.err(`mqtt-contracts: ${args.method} on ${args.prefix} failed (broker ${communicator.broker}): ${error.message}`);
      return ExitCode.Unavailable;
    }
    throw error;
  } finally {
    await communicator.stop();
  }
}
