import { RequestTimeoutError, RpcError } from "../../errors/errors.js";
import type { CliIo } from "../cli-io.js";
import { connectClient, TARGET } from "../client.js";
import { ExitCode } from "../exit-codes.js";
import type { BrokerArgs } from "./ls.js";

export interface ServiceArgs extends BrokerArgs {
  prefix: string;
  timeoutMs: number;
}

/**
 * Call a built-in method (`rpc.discover`, `rpc.stats`) of the service at `prefix`, or of one instance when
 * `prefix` is an instance's `P/instance/<id>`. Returns the result, or an exit code after saying what failed.
 */
export async function callCommandFor<R>(args: ServiceArgs, io: CliIo, method: string, target = args.prefix): Promise<R | ExitCode> {
  const communicator = await connectClient({ prefix: target, method, params: {}, url: args.url, connectTimeoutMs: args.connectTimeoutMs, connection: args.connection }, io);
  if (typeof communicator === "number") return communicator;
  try {
    return await communicator.sendRequest<R>(TARGET, method, {}, { timeoutMs: args.timeoutMs });
  } catch (error) {
    if (error instanceof RpcError) {
      io.err(`mqtt-contracts: ${target} answered ${method} with error ${error.code}: ${error.message} (is it an mqtt-contracts service? ${method} is built into those)`);
      return ExitCode.RemoteError;
    }
    if (error instanceof RequestTimeoutError) {
      io.err(`mqtt-contracts: no answer to ${method} from ${target} within ${args.timeoutMs} ms on ${communicator.broker}: is a service running there? mqtt-contracts ls lists them`);
      return ExitCode.Unavailable;
    }
    io.err(`mqtt-contracts: ${method} on ${target} failed: ${(error as Error).message}`);
    return ExitCode.Unavailable;
  } finally {
    await communicator.stop();
  }
}
