/**
 * The codegen model: everything the generator needs, extracted from `contracts/` by `load-contracts.ts`.
 * `generate(model)` turns it into files without touching the disk.
 */

/** A JSON Schema (draft-07), without `$schema`. */
export type { JsonSchema } from "../src/contract/json-schema.js";
import type { JsonSchema } from "../src/contract/json-schema.js";

export interface SchemaModel {
  /** Which Zod the schema was written with; decides the JSON Schema path. */
  zod: 3 | 4;
  /** The wire form (Zod's input side), draft-07. */
  jsonSchema: JsonSchema;
  /** The output type (`z.infer`), as printed by the TypeScript compiler, with `.describe()` texts as JSDoc. */
  type: string;
  /** The input type (`z.input`) when it differs from `type`, e.g. because of defaults. */
  inputType?: string;
}

export interface ErrorModel {
  /** As declared in the contract. */
  name: string;
  code: number;
  description?: string;
  data?: SchemaModel;
}

export interface MethodModel {
  name: string;
  description?: string;
  timeoutMs?: number;
  /** For a method that streams: the default idle timeout, in ms. */
  idleTimeoutMs?: number;
  params: SchemaModel;
  /** The schema of each item, for a method that streams (its contract declares `yields`). */
  yields?: SchemaModel;
  result: SchemaModel;
  errors: ErrorModel[];
}

export interface NotificationModel {
  name: string;
  description?: string;
  params: SchemaModel;
}

export interface ServiceModel {
  name: string;
  description?: string;
  version?: string;
  /** Posix path relative to the project root, e.g. `contracts/example.ts`. */
  file: string;
  /** The export of `file` that holds the contract. */
  exportName: string;
  methods: MethodModel[];
  notifications: NotificationModel[];
}

export interface ContractModel {
  /** Sorted by name. */
  services: ServiceModel[];
}

export interface GeneratedFile {
  /** Posix path relative to the project root, e.g. `generated/example.ts`. */
  path: string;
  content: string;
}
