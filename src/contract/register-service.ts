import type { Communicator, HandlerContext, HandlerOptions } from "../communicator/types.js";
import { ErrorCode } from "../errors/codes.js";
import { RpcError, ValidationError } from "../errors/errors.js";
import type { Logger } from "../logger.js";
import { asZodSchema, type AnySchema, type MethodContract, type NotificationContract, type ServiceContract } from "./define-service.js";
import { describeSchema } from "./json-schema.js";
import { encodeSchema, parseSchema, summarizeIssues } from "./schema.js";

type AnyHandler = (params: any, context: HandlerContext) => unknown;

export interface RegisterServiceOptions {
  /** Where invalid notifications and invalid handler results are reported. Default: `console`. */
  logger?: Pick<Logger, "warn" | "error">;
}

/**
 * Serve `contract` on `communicator` with `handlers` (one per method and notification). Incoming
 * params are validated first: invalid ones get -32602 with the issues in `error.data` and the
 * handler is not called. Results are validated (and encoded) before sending: an invalid result is
 * not sent, the caller gets -32603. Returns a function that unregisters every handler.
 */
export function registerService(communicator: Communicator, contract: ServiceContract, handlers: object, options: RegisterServiceOptions = {}): () => void {
  const logger = options.logger ?? console;
  const unregister: (() => void)[] = [];
  for (const [method, spec] of Object.entries(contract.methods ?? {})) {
    const handler = requireHandler(contract, handlers, method);
    const paramsSchema = asZodSchema(spec.params);
    const resultSchema = asZodSchema(spec.result);
    const checkResult = (result: unknown): unknown => {
      const encoded = encodeSchema(resultSchema, result);
      if (!encoded.success) {
        // A bug in this service, not the caller's: say so here too, not only in the caller's error.
        logger.error(`The handler of ${contract.name}.${method} returned an invalid result: ${summarizeIssues(encoded.issues)}`);
        throw new RpcError(ErrorCode.InternalError, `Internal error: the handler of ${contract.name}.${method} returned an invalid result: ${summarizeIssues(encoded.issues)}`, {
          data: { issues: encoded.issues },
        });
      }
      return encoded.data;
    };
    const checkParams = (params: unknown): unknown => {
      const parsed = parseSchema(paramsSchema, params);
      if (!parsed.success) throw new ValidationError(`Invalid params for ${contract.name}.${method}: ${summarizeIssues(parsed.issues)}`, { data: { issues: parsed.issues } });
      return parsed.data;
    };
    if (spec.yields !== undefined) {
      const name = `${contract.name}.${method}`;
      const yields = asZodSchema(spec.yields);
      unregister.push(
        communicator.registerHandler(method, (params, context) => checkedItems(name, handler(checkParams(params), context), yields, checkResult, logger), describeHandler(contract, "method", spec)),
      );
      continue;
    }
    unregister.push(
      communicator.registerHandler(method, (params, context) => {
        // A synchronous handler is answered synchronously: no promise hop per call.
        const result = handler(checkParams(params), context);
        return typeof (result as { then?: unknown } | null)?.then === "function" ? (result as PromiseLike<unknown>).then(checkResult) : checkResult(result);
      }, describeHandler(contract, "method", spec)),
    );
  }
  for (const [notification, spec] of Object.entries(contract.notifications ?? {})) {
    const handler = requireHandler(contract, handlers, notification);
    unregister.push(
      communicator.registerHandler(notification, async (params, context) => {
        const parsed = parseSchema(asZodSchema(spec.params), params);
        if (!parsed.success) {
          logger.warn(`Dropped notification ${contract.name}.${notification} with invalid params: ${summarizeIssues(parsed.issues)}`);
          return;
        }
        await handler(parsed.data, context);
      }, { ...describeHandler(contract, "notification", spec), delivery: spec.delivery ?? "all" }),
    );
  }
  return () => unregister.forEach((fn) => fn());
}

/** What `rpc.discover` and the discovery record say of one handler; its schemas as JSON Schema, converted once here. */
function describeHandler(contract: ServiceContract, kind: "method" | "notification", spec: MethodContract | NotificationContract): HandlerOptions {
  const options: HandlerOptions = { kind, service: contract.name, params: describeSchema(asZodSchema(spec.params)) };
  if (contract.version !== undefined) options.version = contract.version;
  if (spec.description !== undefined) options.description = spec.description;
  if ("result" in spec) options.result = describeSchema(asZodSchema(spec.result));
  if ("errors" in spec && spec.errors !== undefined) options.errors = spec.errors;
  if ("yields" in spec && spec.yields !== undefined) options.items = describeSchema(asZodSchema(spec.yields));
  return options;
}

function requireHandler(contract: ServiceContract, handlers: object, name: string): AnyHandler {
  const handler = (handlers as Record<string, unknown>)[name] as AnyHandler | undefined;
  if (typeof handler !== "function") throw new TypeError(`registerService(${contract.name}): no handler for ${JSON.stringify(name)}`);
  return handler.bind(handlers);
}

/**
 * A streaming handler's items, each encoded by the contract's `yields` before it is sent, and its result
 * checked: an invalid item is this service's bug, named here and ending the stream with -32603 for the
 * caller. Cancelling the stream (`return()`) reaches the handler's own generator, whose `finally` runs.
 */
async function* checkedItems(name: string, produced: unknown, yields: AnySchema, checkResult: (result: unknown) => unknown, logger: Pick<Logger, "error">): AsyncGenerator<unknown, unknown> {
  const items = produced as AsyncIterator<unknown> | undefined;
  if (typeof items?.next !== "function") throw new RpcError(ErrorCode.InternalError, `Internal error: the handler of ${name} streams, and returned no async generator`);
  let done = false;
  try {
    for (let next = await items.next(); ; next = await items.next()) {
      if (next.done) {
        done = true;
        return checkResult(next.value);
      }
      const encoded = encodeSchema(yields, next.value);
      if (!encoded.success) {
        logger.error(`The handler of ${name} yielded an invalid item: ${summarizeIssues(encoded.issues)}`);
        throw new RpcError(ErrorCode.InternalError, `Internal error: the handler of ${name} yielded an invalid item: ${summarizeIssues(encoded.issues)}`, { data: { issues: encoded.issues } });
      }
      yield encoded.data;
    }
  } finally {
    if (!done) await items.return?.(undefined);
  }
}
