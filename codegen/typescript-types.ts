import { existsSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname } from "node:path";
import { Node, Project, ts, TypeFormatFlags, type SourceFile, type Type } from "ts-morph";
import type { TypeCheckSettings } from "./compiler-options.js";
import { relativeImport } from "./import-path.js";
import type { JsonSchema } from "./model.js";

/** One type to print: `z.output` or `z.input` of the schema at `accessPath` in an exported contract. */
export interface TypeRequest {
  /** Absolute path of the contract module. */
  file: string;
  exportName: string;
  /** e.g. `["methods", "echo", "params"]`. */
  accessPath: string[];
  zod: 3 | 4;
  io: "output" | "input";
  /** The schema's JSON Schema: its `description`s become JSDoc. */
  jsonSchema: JsonSchema;
}

const FLAGS = TypeFormatFlags.NoTruncation | TypeFormatFlags.InTypeAlias | TypeFormatFlags.UseSingleQuotesForStringLiteralType;

/**
 * Ask the TypeScript compiler for the types that Zod infers, and print them as plain declarations.
 * The compiler does all the type work (`z.output<typeof schema>`); this only lays out object
 * literals member by member so that `.describe()` texts, taken from the JSON Schema, can be attached
 * to each member as JSDoc.
 */
export function printTypes(settings: TypeCheckSettings, requests: readonly TypeRequest[]): string[] {
  return new TypeSession(settings).print(requests);
}

/** TypeScript could not resolve what the contracts import; `errors` are its messages, one line each. */
export class TypeProbeError extends Error {
  constructor(readonly errors: string[]) {
    super(`TypeScript cannot resolve the contract types:\n${errors.join("\n")}`);
    this.name = "TypeProbeError";
  }
}

/**
 * A ts-morph project kept warm between prints, for `--watch`: files that did not change stay parsed
 * and bound, so printing the types of one edited contract costs the checker's work for that contract.
 */
export class TypeSession {
  private project: Project;
  private usingFallback = false;

  constructor(private readonly settings: TypeCheckSettings) {
    this.project = new Project({ compilerOptions: settings.options });
  }

  /** The printed types of `requests`, in order; throws `TypeProbeError` when TypeScript cannot resolve them. */
  print(requests: readonly TypeRequest[]): string[] {
    if (requests.length === 0) return [];
    let result = attempt(this.project, requests);
    if ("errors" in result && this.settings.fallback !== undefined && !this.usingFallback) {
      // The project's resolution settings do not work for codegen: its own may.
      const project = new Project({ compilerOptions: this.settings.fallback });
      const retry = attempt(project, requests);
      if (!("errors" in retry)) {
        this.project = project;
        this.usingFallback = true;
        result = retry;
      }
    }
    if ("errors" in result) throw new TypeProbeError(result.errors);
    return result.printed;
  }

  /** Read `files` (absolute) again from the disk, or forget those that are gone; files not in the project are skipped. */
  refresh(files: Iterable<string>): void {
    for (const file of files) {
      const source = this.project.getSourceFile(file);
      if (source === undefined) continue;
      if (existsSync(file)) source.refreshFromFileSystemSync();
      else this.project.removeSourceFile(source);
    }
  }
}

/**
 * Print through a probe, asking for the probe's diagnostics only when something looks wrong (an import
 * that does not resolve, a type printed as `any`): checking the whole probe costs about as much again
 * as printing, because it also checks each type argument against its constraint.
 */
function attempt(project: Project, requests: readonly TypeRequest[]): { printed: string[] } | { errors: string[] } {
  const probe = typeProbe(project, requests);
  try {
    const printed = probe.resolves() ? probe.print() : undefined;
    if (printed !== undefined && !printed.includes("any")) return { printed };
    const errors = probe.errors();
    return errors.length > 0 ? { errors } : { printed: printed ?? probe.print() };
  } finally {
    project.removeSourceFile(probe.file); // the next print brings its own probe
  }
}

function typeProbe(project: Project, requests: readonly TypeRequest[]): { file: SourceFile; resolves(): boolean; errors(): string[]; print(): string[] } {
  const files = [...new Set(requests.map((request) => request.file))];
  for (const file of files) if (project.getSourceFile(file) === undefined) project.addSourceFileAtPath(file);
  // The probe sits next to the first contract so that it resolves modules like the contracts do.
  const probePath = files[0]!.replace(/[^/\\]+$/, "__mqtt_contracts_type_probe__.ts");
  const lines = ['import type { z } from "zod";', 'import type * as z3 from "zod/v3";'];
  const exports = new Map<string, string>();
  for (const request of requests) {
    const key = `${request.file}#${request.exportName}`;
    if (!exports.has(key)) {
      const alias = `C${exports.size}`;
      exports.set(key, alias);
      lines.push(`import type { ${request.exportName} as ${alias} } from ${JSON.stringify(relativeImport(dirname(probePath), request.file))};`);
    }
  }
  requests.forEach((request, i) => {
    const alias = exports.get(`${request.file}#${request.exportName}`)!;
    const access = request.accessPath.map((key) => `[${JSON.stringify(key)}]`).join("");
    lines.push(`type T${i} = ${request.zod === 4 ? "z" : "z3"}.${request.io}<(typeof ${alias})${access}>;`);
  });
  const probe = project.createSourceFile(probePath, lines.join("\n"), { overwrite: true });
  // An import a contract makes that does not resolve turns its types into `any` without an error in the probe.
  const unresolved = () => files.flatMap((file) => unresolvedImports(project.getSourceFileOrThrow(file)));
  return {
    file: probe,
    resolves: () => unresolvedImports(probe).length === 0 && unresolved().length === 0,
    errors: () => [
      ...probe
        .getPreEmitDiagnostics()
        .filter((d) => d.getCategory() === ts.DiagnosticCategory.Error)
        .map((d) => describeDiagnostic(d.compilerObject, lines)),
      ...unresolved(),
    ],
    print: () => printProbe(probe, requests),
  };
}

/** `<file> imports "<specifier>", which …` for every import or re-export in `file` that TypeScript cannot resolve. */
function unresolvedImports(file: SourceFile): string[] {
  const declarations = [...file.getImportDeclarations(), ...file.getExportDeclarations().filter((d) => d.hasModuleSpecifier())];
  return declarations.flatMap((declaration) => {
    const specifier = declaration.getModuleSpecifierValue();
    if (specifier === undefined || isBuiltinModule(specifier) || declaration.getModuleSpecifierSourceFile() !== undefined) return [];
    return [`${file.getFilePath()} imports ${JSON.stringify(specifier)}, which TypeScript cannot resolve from there`];
  });
}

function isBuiltinModule(specifier: string): boolean {
  return specifier.startsWith("node:") || builtinModules.includes(specifier);
}

/** One line per diagnostic; one in the probe names the probe's line, which says which import or type failed. */
function describeDiagnostic(diagnostic: ts.Diagnostic, probeLines: readonly string[]): string {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, " ");
  if (diagnostic.file === undefined || diagnostic.start === undefined) return `TS${diagnostic.code}: ${message}`;
  const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  const where = diagnostic.file.fileName.endsWith("__mqtt_contracts_type_probe__.ts") ? `in \`${probeLines[line]}\`` : `at ${diagnostic.file.fileName}:${line + 1}`;
  return `TS${diagnostic.code} ${where}: ${message}`;
}

function printProbe(probe: SourceFile, requests: readonly TypeRequest[]): string[] {
  // One pass over the probe's aliases: looking each up by name would scan the file every time.
  const aliases = probe.getTypeAliases();
  return requests.map((request, i) => {
    const declaration = aliases[i]!;
    if (declaration.getName() !== `T${i}`) throw new Error(`type probe out of order at T${i}`);
    return printType(declaration.getType(), declaration, request.jsonSchema, "");
  });
}

function printType(type: Type, node: Node, schema: JsonSchema | undefined, indent: string): string {
  if (isObjectLiteral(type)) return printObject(type, node, schema, indent);
  if (type.isArray()) {
    const element = printType(type.getArrayElementTypeOrThrow(), node, asSchema(schema?.items), indent);
    return type.getArrayElementTypeOrThrow().isUnion() || element.includes("=>") ? `(${element})[]` : `${element}[]`;
  }
  if (type.isUnion() && !type.isBoolean() && !type.isEnum()) {
    // `T | undefined` (optional), `T | null` (nullable): print T member by member, keeping its docs.
    const members = type.getUnionTypes();
    const core = members.filter((member) => !member.isUndefined() && !member.isNull());
    if (core.length === 1 && (isObjectLiteral(core[0]!) || core[0]!.isArray())) {
      const coreSchema = branches(schema).find((branch) => branch.type !== "null") ?? schema;
      return members.map((member) => (member === core[0] ? printType(member, node, coreSchema, indent) : text(member, node))).join(" | ");
    }
  }
  return text(type, node);
}

function printObject(type: Type, node: Node, schema: JsonSchema | undefined, indent: string): string {
  const inner = `${indent}  `;
  const properties = asSchema(schema?.properties) ?? {};
  const members = type.getProperties().map((property) => {
    const name = property.getName();
    const optional = property.isOptional();
    let propertyType = property.getTypeAtLocation(node);
    const propertySchema = asSchema(properties[name]);
    const doc = typeof propertySchema?.description === "string" ? jsDoc(propertySchema.description, inner) : "";
    const key = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
    return `${doc}${inner}${key}${optional ? "?" : ""}: ${printType(propertyType, node, propertySchema, inner)};`;
  });
  for (const signature of [type.getStringIndexType(), type.getNumberIndexType()]) {
    if (signature) members.push(`${inner}[key: ${signature === type.getStringIndexType() ? "string" : "number"}]: ${text(signature, node)};`);
  }
  return members.length ? `{\n${members.join("\n")}\n${indent}}` : "{}";
}

/** An anonymous object type the compiler would print as `{ … }`: not an array, function, Date or other named type. */
function isObjectLiteral(type: Type): boolean {
  if (!type.isObject() || type.isArray() || type.isTuple() || type.getCallSignatures().length > 0) return false;
  if (type.getAliasSymbol() !== undefined) return false;
  const symbol = type.getSymbol();
  return symbol === undefined || symbol.getName() === "__type" || symbol.getName() === "__object";
}

function text(type: Type, node: Node): string {
  return type.getText(node, FLAGS);
}

function branches(schema: JsonSchema | undefined): JsonSchema[] {
  const list = (schema?.anyOf ?? schema?.oneOf) as JsonSchema[] | undefined;
  return Array.isArray(list) ? list : [];
}

function asSchema(value: unknown): JsonSchema | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonSchema) : undefined;
}

/** A JSDoc block; `*\/` inside the text is broken up so it cannot end the comment. */
export function jsDoc(description: string, indent: string): string {
  const lines = description.replace(/\*\//g, "*\\/").split(/\r?\n/);
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((line) => `${indent} * ${line}`.trimEnd()).join("\n")}\n${indent} */\n`;
}
