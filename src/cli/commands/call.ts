import { CommunicationError, ConfigurationError, RequestAbortedError, RequestTimeoutError, RpcError } from "../../errors/errors.js";
import type { MqttCommunicator } from "../../mqtt/mqtt-communicator.js";
import type { CliIo } from "../cli-io.js";
import { connectClient, requestTopicOf, serviceOf, type ClientArgs } from "../client.js";
import { ExitCode } from "../exit-codes.js";
import { UsageError } from "../usage.js";

export interface CallArgs extends ClientArgs {
  /** The whole call, items and result. */
  timeoutMs: number;
  /** A stream fails when no item comes for this long. Default: `timeoutMs`. */
  idleTimeoutMs?: number | undefined;
}

/** The exit code of a call ended by a signal: 128 + its number, as a shell reports a process killed by it. */
const SIGNAL_EXIT: Record<string, ExitCode> = { SIGINT: ExitCode.Interrupted, SIGTERM: ExitCode.Terminated };

/**
 * `mqtt-contracts call`: one request. In the JSON-RPC format it is a stream: each item is printed as one
 * line of JSON on stdout as it arrives, then the result (a method that does not stream prints its result
 * only). SIGINT or SIGTERM cancels the call (the service's handler sees its signal abort). The OpenMAS
 * format has no streams: a plain request.
 */
export async function callCommand(args: CallArgs, io: CliIo): Promise<ExitCode> {
  const communicator = await connectClient(args, io);
  if (typeof communicator === "number") return communicator;
  const interrupt = new AbortController();
  let signalName: string | undefined;
  void io.waitForStop().then((name) => {
    signalName = name;
    interrupt.abort(new Error(`${name} received: the user interrupted the call`));
  });
  let items = 0;
  try {
    if (args.wireFormat === "openmas") {
      const result = await communicator.sendRequest(serviceOf(args), args.method, args.params, { timeoutMs: args.timeoutMs, signal: interrupt.signal });
      io.out(JSON.stringify(result === undefined ? null : result));
      return ExitCode.Ok;
    }
    const stream = communicator.sendStream(serviceOf(args), args.method, args.params, {
      timeoutMs: args.timeoutMs,
      idleTimeoutMs: args.idleTimeoutMs ?? args.timeoutMs,
      signal: interrupt.signal,
    });
    for await (const item of stream) {
      items++;
      io.out(JSON.stringify(item === undefined ? null : item));
    }
    const result = await stream.result;
    io.out(JSON.stringify(result === undefined ? null : result));
    return ExitCode.Ok;
  } catch (error) {
    if (signalName !== undefined && error instanceof RequestAbortedError) {
      io.err(`mqtt-contracts: ${signalName} received: cancelled ${args.method} on ${args.prefix}${items > 0 ? ` after ${itemCount(items)}` : ""}`);
      return SIGNAL_EXIT[signalName] ?? ExitCode.Interrupted;
    }
    return report(error, args, io, communicator, items);
  } finally {
    await communicator.stop();
  }
}

function itemCount(items: number): string {
  return `${items} item${items === 1 ? "" : "s"}`;
}

/** Say on stderr why the call failed (after the `items` printed so far) and return the exit code. */
function report(error: unknown, args: CallArgs, io: CliIo, communicator: MqttCommunicator, items: number): ExitCode {
  const after = items > 0 ? ` after ${itemCount(items)}` : "";
  if (error instanceof RpcError) {
    const openmasCode = args.wireFormat === "openmas" ? (error.details as { code?: unknown } | undefined)?.code : undefined;
    const name = [error.codeName, typeof openmasCode === "number" ? `OpenMAS code ${openmasCode}` : undefined].filter((part) => part !== undefined).join("; ");
    const label = name === "" ? "" : ` (${name})`;
    io.err(`mqtt-contracts: ${args.prefix} answered ${args.method}${after} with error ${error.code}${label}: ${error.message}`);
    if (error.data !== undefined) io.err(`data: ${JSON.stringify(error.data)}`);
    return ExitCode.RemoteError;
  }
  if (error instanceof RequestTimeoutError && (error.details as { code?: unknown } | undefined)?.code === 408) {
    // An OpenMAS-format server answered: the request's deadline had passed there before it could run.
    io.err(`mqtt-contracts: ${args.prefix} answered ${args.method} with OpenMAS code 408: ${error.message}`);
    return ExitCode.Unavailable;
  }
  if (error instanceof RequestTimeoutError && items === 0 && error.timeoutMs === args.timeoutMs) {
    io.err(
      `mqtt-contracts: no response to ${args.method} from ${args.prefix} within ${args.timeoutMs} ms on ${communicator.broker}` +
        ` (is a service subscribed to ${requestTopicOf(args)}? A broker whose ACL denies this client the publish, or the subscription to its response topic, may drop the messages without an error: Mosquitto does over MQTT 3.1.1)`,
    );
    return ExitCode.Unavailable;
  }
  if (error instanceof RequestTimeoutError) {
    // The whole call outlasted --timeout after some items, or the stream went quiet (--idle-timeout). The
    // runtime's message names the service by the CLI's key for it, not by its prefix: say it here instead.
    const message =
      error.timeoutMs === args.timeoutMs
        ? `no result of ${args.method} from ${args.prefix} within ${args.timeoutMs} ms (--timeout)`
        : `${args.prefix} sent no item of ${args.method} for ${error.timeoutMs} ms (--idle-timeout)`;
    io.err(`mqtt-contracts: ${message}${after}; the service was told to cancel the call`);
    return ExitCode.Unavailable;
  }
  if (error instanceof ConfigurationError) throw new UsageError(error.message);
  if (error instanceof CommunicationError) {
    io.err(`mqtt-contracts: ${args.method} on ${args.prefix} failed${after} (broker ${communicator.broker}): ${error.message}`);
    return ExitCode.Unavailable;
  }
  throw error;
}
