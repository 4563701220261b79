import type { z } from "zod";
import type * as z3 from "zod/v3";

/** A Zod 4 schema or a Zod 3 (`zod/v3`) schema. */
export type AnySchema = z.ZodType | z3.ZodTypeAny;
/** Params are always an object schema: JSON-RPC params by name. */
export type ParamsSchema = z.ZodObject | z3.AnyZodObject;

/** An application error a method may answer with, so that clients can tell it apart. */
export interface ErrorContract {
  /** The JSON-RPC error code; any integer outside -32768..-32000. */
  code: number;
  description?: string;
  /** Schema of the error's `data`, if it carries any. */
  data?: AnySchema;
}

export interface MethodContract {
  description?: string;
  params: ParamsSchema;
  /** Any JSON-representable schema. */
  result: AnySchema;
  /** Default per-call timeout of the generated client, in ms. */
  timeoutMs?: number;
  /** Application errors by name (PascalCase or SCREAMING_CASE). */
  errors?: Record<string, ErrorContract>;
}

export interface NotificationContract {
  description?: string;
  params: ParamsSchema;
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
