import type { AnySchema, ErrorContract, MethodContract, NotificationContract, ServiceContract, ServiceDefinition } from "../src/contract/define-service.js";
import { jsonProblems } from "./json-compat.js";
import { schemaProblems } from "./schema-checks.js";

/** A service found in a contract module. */
export interface FoundService {
  /** Posix path relative to the project root. */
  file: string;
  exportName: string;
  contract: ServiceContract;
}

/** One thing wrong with a contract, located as precisely as possible. */
export class ContractProblem {
  constructor(
    readonly file: string,
    readonly message: string,
    readonly service?: string,
    readonly member?: string,
    readonly field?: string,
  ) {}

  toString(): string {
    const where = [
      this.service !== undefined ? `service ${JSON.stringify(this.service)}` : undefined,
      this.member,
      this.field !== undefined ? `field ${this.field}` : undefined,
    ].filter(Boolean);
    return `${this.file}: ${where.length ? `${where.join(", ")}: ` : ""}${this.message}`;
  }
}

/** A TS identifier and a single MQTT topic level at once. */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The keys each part of a contract knows; any other is a mistake (a typo like `timeoutMS` would
 * otherwise be ignored without a word). Each list must name every key of its type: see below.
 */
const SERVICE_KEYS = ["name", "description", "version", "methods", "notifications"] as const satisfies readonly (keyof ServiceDefinition)[];
const METHOD_KEYS = ["description", "params", "result", "yields", "timeoutMs", "idleTimeoutMs", "errors"] as const satisfies readonly (keyof MethodContract)[];
const NOTIFICATION_KEYS = ["description", "params", "delivery"] as const satisfies readonly (keyof NotificationContract)[];
const ERROR_KEYS = ["code", "description", "data"] as const satisfies readonly (keyof ErrorContract)[];
/** Fails to compile when a contract type gains a key its list above does not name. */
type Complete<T, K extends readonly PropertyKey[]> = Exclude<keyof T, K[number]> extends never ? true : never;
const keyListsAreComplete: [
  Complete<ServiceDefinition, typeof SERVICE_KEYS>,
  Complete<MethodContract, typeof METHOD_KEYS>,
  Complete<NotificationContract, typeof NOTIFICATION_KEYS>,
  Complete<ErrorContract, typeof ERROR_KEYS>,
] = [true, true, true, true];

/** Names that would break the generated client class. */
const RESERVED_MEMBERS = new Set(["constructor", "client", "prototype", "__proto__"]);

/** A service defined elsewhere (in a module not loaded this time), for the duplicate-name check. */
export interface KnownService {
  name: string;
  exportName: string;
  file: string;
}

/**
 * Check every found service; returns all problems (empty when codegen can go ahead). `others` are
 * services of modules not loaded this time (taken from the cache): a found service may not reuse their names.
 */
export function validateContracts(services: readonly FoundService[], others: readonly KnownService[] = []): ContractProblem[] {
  const problems: ContractProblem[] = [];
  const byName = new Map<string, { exportName: string; file: string }>(others.map((other) => [other.name, other]));
  for (const found of services) {
    const { file, contract } = found;
    const service = typeof contract.name === "string" ? contract.name : String(contract.name);
    const problem = (message: string, member?: string, field?: string) => problems.push(new ContractProblem(file, message, service, member, field));

    unknownKeys(contract, SERVICE_KEYS, "a service", (key, message) => problem(message, undefined, key));
    if (!NAME_PATTERN.test(service)) problem(`service name ${JSON.stringify(service)} must match ${NAME_PATTERN} (a TS identifier and a topic level)`);
    const previous = byName.get(service);
    if (previous) problem(`duplicate service name ${JSON.stringify(service)}: also defined by ${previous.exportName} in ${previous.file}`);
    else byName.set(service, found);

    const methods = Object.entries(contract.methods ?? {});
    const notifications = Object.entries(contract.notifications ?? {});
    if (methods.length + notifications.length === 0) problem("a service needs at least one method or notification");
    const memberNames = new Set<string>();
    const errorCodes = new Map<string, number>();

    for (const [kind, entries] of [["method", methods], ["notification", notifications]] as const) {
      for (const [name, spec] of entries) {
        const member = `${kind} ${JSON.stringify(name)}`;
        if (!NAME_PATTERN.test(name)) problem(`${kind} name ${JSON.stringify(name)} must match ${NAME_PATTERN} (a TS identifier and a topic level)`, member);
        else if (RESERVED_MEMBERS.has(name)) problem(`${kind} name ${JSON.stringify(name)} is reserved in the generated client class`, member);
        if (memberNames.has(name)) problem(`${JSON.stringify(name)} is both a method and a notification`, member);
        memberNames.add(name);
        unknownKeys(spec, kind === "method" ? METHOD_KEYS : NOTIFICATION_KEYS, `a ${kind}`, (key, message) => problem(message, member, key));
        if (!usableSchema(spec?.params, "params", member, problem)) {
          // reported
        } else if (!isObjectSchema(spec?.params)) {
          problem(`params must be an object schema (z.object({...})), got ${describeSchema(spec?.params)}`, member, "params");
        } else {
          for (const p of jsonProblems(spec.params)) problem(p.message, member, p.path ? `params.${p.path}` : "params");
        }
        if (kind === "notification") continue;
        const method = spec as NonNullable<ServiceContract["methods"]>[string];
        checkSchema(method.result, "result", member, problem);
        if (method.yields !== undefined) checkSchema(method.yields, "yields", member, problem);
        for (const key of ["timeoutMs", "idleTimeoutMs"] as const) {
          const value = method[key];
          if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value > 0)) problem(`${key} must be a positive number, got ${String(value)}`, member, key);
        }
        if (method.idleTimeoutMs !== undefined && method.yields === undefined) {
          problem("idleTimeoutMs applies to a method that streams, and this one declares no yields", member, "idleTimeoutMs");
        }
        const codes = new Set<number>();
        for (const [errorName, error] of Object.entries(method.errors ?? {})) {
          const field = `errors.${errorName}`;
          unknownKeys(error, ERROR_KEYS, "an error", (key, message) => problem(message, member, `${field}.${key}`));
          if (!NAME_PATTERN.test(errorName)) problem(`error name ${JSON.stringify(errorName)} must match ${NAME_PATTERN}`, member, field);
          if (!Number.isInteger(error?.code)) problem(`error code must be an integer, got ${String(error?.code)}`, member, `${field}.code`);
          else if (error.code >= -32768 && error.code <= -32000) problem(`error code ${error.code} is reserved by JSON-RPC (-32768..-32000)`, member, `${field}.code`);
          else if (codes.has(error.code)) problem(`error code ${error.code} is declared twice`, member, `${field}.code`);
          codes.add(error?.code);
          const known = errorCodes.get(errorName);
          if (known !== undefined && known !== error?.code) problem(`error ${errorName} has code ${error?.code} here but ${known} in another method`, member, `${field}.code`);
          errorCodes.set(errorName, error?.code);
          if (error?.data !== undefined) checkSchema(error.data, `${field}.data`, member, problem);
        }
      }
    }
  }
  return problems;
}

type Report = (message: string, member?: string, field?: string) => void;

/** Report each own key of `value` (an object) that is not in `known`, with the closest known key when one is near. */
function unknownKeys(value: unknown, known: readonly string[], what: string, report: (key: string, message: string) => void): void {
  if (typeof value !== "object" || value === null) return;
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    const list = `${known.slice(0, -1).join(", ")} and ${known.at(-1)}`;
    report(key, `unknown key ${JSON.stringify(key)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ""}: ${what} has only ${list}`);
  }
}

/** The known key `key` most likely misspells: the same but for case, or at most two edits away. */
function closest(key: string, known: readonly string[]): string | undefined {
  const sameCase = known.find((k) => k.toLowerCase() === key.toLowerCase());
  if (sameCase !== undefined) return sameCase;
  let best: { key: string; distance: number } | undefined;
  for (const k of known) {
    const distance = editDistance(key.toLowerCase(), k.toLowerCase());
    if (distance <= Math.min(2, k.length - 2) && (best === undefined || distance < best.distance)) best = { key: k, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/** False (with the problems reported) when `schema`, or a schema inside it, is not one the runtime can use. */
function usableSchema(schema: unknown, field: string, member: string, problem: Report): boolean {
  if (schema === undefined) return true; // the caller says what is missing
  const problems = schemaProblems(schema);
  for (const p of problems) problem(p.message, member, `${field}${p.path}`);
  return problems.length === 0;
}

function checkSchema(schema: unknown, field: string, member: string, problem: Report): void {
  if (!usableSchema(schema, field, member, problem)) return;
  if (!isSchema(schema)) {
    problem(`must be a Zod schema, got ${describeSchema(schema)}`, member, field);
    return;
  }
  for (const p of jsonProblems(schema)) problem(p.message, member, p.path ? `${field}.${p.path}` : field);
}

function isSchema(value: unknown): value is AnySchema {
  return typeof value === "object" && value !== null && ("_zod" in value || "_def" in value) && typeof (value as { safeParse?: unknown }).safeParse === "function";
}

function isObjectSchema(value: unknown): value is AnySchema {
  if (!isSchema(value)) return false;
  if ("_zod" in value) return (value as { _zod: { def: { type: string } } })._zod.def.type === "object";
  const def = (value as { _def: { typeName: string; schema?: { _def: { typeName: string } }; effect?: { type: string } } })._def;
  return def.typeName === "ZodObject" || (def.typeName === "ZodEffects" && def.effect?.type === "refinement" && def.schema?._def.typeName === "ZodObject");
}

function describeSchema(value: unknown): string {
  if (value === undefined) return "nothing";
  if (isSchema(value)) {
    const kind = "_zod" in value ? (value as { _zod: { def: { type: string } } })._zod.def.type : (value as { _def: { typeName: string } })._def.typeName;
    const name = kind.replace(/^Zod/, "").toLowerCase();
    return `${/^[aeiou]/.test(name) ? "an" : "a"} ${name} schema`;
  }
  return value === null ? "null" : typeof value;
}
