import type { z } from "zod";
import type * as z3 from "zod/v3";

/**
 * A Zod 4 schema or a Zod 3 (`zod/v3`) schema. Kept structural and small on purpose: relating every
 * schema of a large contract to Zod's full class types made type-checking contracts several times
 * slower. Codegen checks the real kind of each schema.
 */
export type AnySchema = z.ZodType | z3.ZodTypeAny;

/** Narrow a contract field to the Zod schema it is (codegen has checked it is one). */
export function asZodSchema(schema: SchemaLike): AnySchema {
  return schema as unknown as AnySchema;
}
/**
 * What a contract field holds: any Zod 4 or `zod/v3` schema, seen through its Standard Schema marker.
 * The marker's type is `unknown` on purpose: relating it to anything narrower (even `object`) makes
 * TypeScript work out the input and output types of every schema in the contract, and type-checking
 * a contract took about twice as long (`npm run bench:codegen`, its `tsc --noEmit` row). A plain object
 * or a function where a schema belongs is still an error; codegen checks the real kind of each schema.
 */
export type SchemaLike = { readonly "~standard": unknown };
/** Params are always an object schema (`z.object(...)`): JSON-RPC params by name. */
export type ParamsLike = SchemaLike & { readonly shape: object };

/** An application error a method may answer with, so that clients can tell it apart. */
export interface ErrorContract {
  /** The JSON-RPC error code; any integer outside -32768..-32000. */
  code: number;
  description?: string;
  /** Schema of the error's `data`, if it carries any. */
  data?: SchemaLike;
}

export interface MethodContract {
  description?: string;
  params: ParamsLike;
  /** Any JSON-representable schema. */
  result: SchemaLike;
  /**
   * The schema of each item, for a method that streams: its handler is an async generator that yields
   * items and returns the result, and callers iterate the items (`CallStream`).
   */
  yields?: SchemaLike;
  /** Default per-call timeout of the generated client, in ms: for a stream, the whole stream's deadline. */
  timeoutMs?: number;
  /** For a stream: the default idle timeout, in ms (no item for this long fails the call; see `StreamOptions`). */
  idleTimeoutMs?: number;
  /** Application errors by name (PascalCase or SCREAMING_CASE). */
  errors?: Record<string, ErrorContract>;
}

export interface NotificationContract {
  description?: string;
  params: ParamsLike;
  /**
   * In a `sharedGroup` of servers: `"all"` (default) runs the handler on every instance, `"one"` on one
   * instance only, as for requests.
   */
  delivery?: "all" | "one";
}

export interface ServiceDefinition {
  /** The service name: a TS identifier and a topic level, `^[A-Za-z_][A-Za-z0-9_]*$`. */
  name: string;
  description?: string;
  /** Shown in the AsyncAPI document. */
  version?: string;
  methods?: Record<string, MethodContract>;
  notifications?: Record<string, NotificationContract>;
}

const serviceBrand = Symbol.for("mqtt-contracts.service");

export type ServiceContract<D extends ServiceDefinition = ServiceDefinition> = D & { readonly [serviceBrand]: true };

/**
 * Declare a service: its methods (params → result, optional errors) and notifications, as Zod
 * schemas. `npm run codegen` turns every exported service into typed clients and handler
 * interfaces; the runtime validates both ends against these schemas.
 */
export function defineService<const D extends ServiceDefinition>(definition: D): ServiceContract<D> {
  return Object.freeze({ ...definition, [serviceBrand]: true as const });
}

export function isServiceContract(value: unknown): value is ServiceContract {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[serviceBrand] === true;
}
