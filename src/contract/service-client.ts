import { failedStream, type CallStream } from "../communicator/call-stream.js";
import type { Communicator, RequestOptions, StreamOptions } from "../communicator/types.js";
import { ConfigurationError, RpcError, ValidationError } from "../errors/errors.js";
import type { Params } from "../wire/values.js";
import type { ContractErrorClass } from "./contract-error.js";
import { asZodSchema, type MethodContract, type NotificationContract, type ServiceContract } from "./define-service.js";
import { parseSchema, summarizeIssues } from "./schema.js";
import { CheckedStream } from "./checked-stream.js";

/** Per-call options of a generated client method. */
export type CallOptions = RequestOptions;
/** Per-call options of a generated client's streaming method. */
export type StreamCallOptions = StreamOptions;

interface MethodPlan {
  contract: MethodContract;
  /** Declared error code → generated class. */
  errors: Map<number, ContractErrorClass>;
  /**
   * The result and error handlers of this method's calls, built once: chaining a call on them
   * allocates no closure per call, which keeps what each call in flight holds on to small.
   */
  onResult: (result: unknown) => unknown;
  onError: (error: unknown) => never;
}

/**
 * The one generic client behind every generated client class: validates params before sending
 * (nothing is published if they are invalid), validates results on receipt, and turns declared
 * application errors into their generated classes. Generated code only forwards to it.
 */
export class ServiceClient {
  private readonly methods = new Map<string, MethodPlan>();
  private readonly notifications = new Map<string, NotificationContract>();

  constructor(
    readonly communicator: Communicator,
    readonly contract: ServiceContract,
    /** The target service as named in `serviceUrls`. */
    readonly targetService: string,
    /** Generated error classes by method, then by error name. */
    errorClasses: Record<string, Record<string, ContractErrorClass>> = {},
  ) {
    for (const [name, method] of Object.entries(contract.methods ?? {})) {
      const errors = new Map<number, ContractErrorClass>();
      for (const [errorName, declared] of Object.entries(method.errors ?? {})) {
        const errorClass = errorClasses[name]?.[errorName];
        if (errorClass) errors.set(declared.code, errorClass);
      }
      this.methods.set(name, this.plan(name, method, errors));
    }
    for (const [name, notification] of Object.entries(contract.notifications ?? {})) this.notifications.set(name, notification);
  }

  /**
   * Call `method`. Not an `async` function: the result is one promise chained on the request's own,
   * which saves a promise and an async frame per call on the hot path. Problems found before
   * sending (unknown method, invalid params) still reject rather than throw.
   */
  call(method: string, params: unknown, options: CallOptions = {}): Promise<unknown> {
    const plan = this.methods.get(method);
    if (plan === undefined) return Promise.reject(new ConfigurationError(`${this.contract.name} has no method ${JSON.stringify(method)}`, { target: this.targetService }));
    const checked = parseSchema(asZodSchema(plan.contract.params), params);
    if (!checked.success) {
      return Promise.reject(
        new ValidationError(`Invalid params for ${this.contract.name}.${method}: ${summarizeIssues(checked.issues)}`, {
          target: this.targetService,
          data: { issues: checked.issues },
        }),
      );
    }
    const requestOptions = options.timeoutMs === undefined && plan.contract.timeoutMs !== undefined ? withTimeout(options, plan.contract.timeoutMs) : options;
    // The caller's input is the wire form; the server applies defaults and decodes.
    return this.communicator.sendRequest(this.targetService, method, params as Params, requestOptions).then(plan.onResult, plan.onError);
  }

  /**
   * Call a streaming `method`: params validated before sending, each item validated against the contract's
   * `yields` as it arrives (an invalid one ends the stream with `ValidationError`), the result as for `call`.
   */
  stream(method: string, params: unknown, options: StreamCallOptions = {}): CallStream<unknown, unknown> {
    const plan = this.methods.get(method);
    const name = `${this.contract.name}.${method}`;
    if (plan === undefined || plan.contract.yields === undefined) {
      return failedStream(new ConfigurationError(plan === undefined ? `${this.contract.name} has no method ${JSON.stringify(method)}` : `${name} does not stream (its contract has no yields): call it with call()`, { target: this.targetService }));
    }
    const checked = parseSchema(asZodSchema(plan.contract.params), params);
    if (!checked.success) return failedStream(new ValidationError(`Invalid params for ${name}: ${summarizeIssues(checked.issues)}`, { target: this.targetService, data: { issues: checked.issues } }));
    const communicator = this.communicator;
    if (communicator.sendStream === undefined) return failedStream(new ConfigurationError(`${name} streams, and the communicator of ${communicator.agentName} has no streams`, { target: this.targetService }));
    const { contract } = plan;
    const streamOptions: { [K in keyof Required<StreamCallOptions>]: StreamCallOptions[K] } = {
      timeoutMs: options.timeoutMs ?? contract.timeoutMs,
      idleTimeoutMs: options.idleTimeoutMs ?? contract.idleTimeoutMs,
      credit: options.credit,
      signal: options.signal,
    };
    const inner = communicator.sendStream(this.targetService, method, params as Params, streamOptions);
    return new CheckedStream(inner, asZodSchema(contract.yields!), name, this.targetService, plan.onResult, plan.onError);
  }

  async notify(notification: string, params: unknown): Promise<void> {
    const contract = this.notifications.get(notification);
    if (contract === undefined) throw new ConfigurationError(`${this.contract.name} has no notification ${JSON.stringify(notification)}`, { target: this.targetService });
    const checked = parseSchema(asZodSchema(contract.params), params);
    if (!checked.success) {
      throw new ValidationError(`Invalid params for ${this.contract.name}.${notification}: ${summarizeIssues(checked.issues)}`, {
        target: this.targetService,
        data: { issues: checked.issues },
      });
    }
    await this.communicator.sendNotification(this.targetService, notification, params as Params);
  }

  private plan(method: string, contract: MethodContract, errors: Map<number, ContractErrorClass>): MethodPlan {
    const resultSchema = asZodSchema(contract.result);
    return {
      contract,
      errors,
      onResult: (result) => {
        const parsed = parseSchema(resultSchema, result);
        if (!parsed.success) {
          throw new ValidationError(`Invalid result from ${this.contract.name}.${method}: ${summarizeIssues(parsed.issues)}`, {
            target: this.targetService,
            data: { issues: parsed.issues },
          });
        }
        return parsed.data;
      },
      onError: (error) => {
        throw declaredError(errors, error);
      },
    };
  }
}

/**
 * The caller's options with the contract's timeout. A literal, not `{ ...options, timeoutMs }`: on
 * Node 20 (V8 11.3) a key added to a spread copy makes a new hidden class on every call. The type
 * names every `RequestOptions` field, so a field added there fails to compile until it is copied here.
 */
function withTimeout(options: CallOptions, timeoutMs: number): { [K in keyof Required<CallOptions>]: CallOptions[K] } {
  return { timeoutMs, signal: options.signal, idleTimeoutMs: options.idleTimeoutMs };
}

/** A declared application error as its generated class; anything else as it is. */
function declaredError(errors: Map<number, ContractErrorClass>, error: unknown): unknown {
  if (!(error instanceof RpcError) || errors.size === 0) return error;
  const errorClass = errors.get(error.code);
  if (errorClass === undefined) return error;
  return new errorClass(error.data, error.message, { target: error.target, cause: error });
}
