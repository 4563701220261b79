import { existsSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname } from "node:path";
import { Project, ts, type SourceFile } from "ts-morph";
import type { TypeCheckSettings } from "./compiler-options.js";
import { relativeImport } from "./import-path.js";
import type { JsonSchema } from "./model.js";
import { contractResolution } from "./contract-resolution.js";
import { schemaType, TypePrinter } from "./type-printer.js";

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
  private warmed: Probe | undefined;

  constructor(private readonly settings: TypeCheckSettings) {
    this.project = new Project({ compilerOptions: settings.options, resolutionHost: contractResolution });
  }

  /**
   * Parse `files` (absolute) and infer the types of the constants they export, before any request is
   * known: inferring each `defineService(...)` is most of the checker's work, and a worker thread can
   * do it while the contracts are still being imported. The next `print` uses what this found, unless
   * `refresh` comes between or the requests name an export this did not see.
   */
  warm(files: readonly string[]): void {
    for (const file of files) if (this.project.getSourceFile(file) === undefined && existsSync(file)) this.project.addSourceFileAtPath(file);
    const exports = files.flatMap((file) => exportedConstants(this.project.getSourceFile(file)).map((exportName) => ({ file, exportName })));
    if (exports.length === 0) return;
    this.warmed = typeProbe(this.project, exports);
    this.warmed.infer();
  }

  /** The printed types of `requests`, in order; throws `TypeProbeError` when TypeScript cannot resolve them. */
  print(requests: readonly TypeRequest[]): string[] {
    if (requests.length === 0) return [];
    const warmed = this.warmed;
    this.warmed = undefined;
    const usable = warmed?.covers(requests) ? warmed : undefined;
    if (warmed !== undefined && usable === undefined) this.project.removeSourceFile(warmed.file);
    let result = attempt(this.project, requests, usable);
    if ("errors" in result && this.settings.fallback !== undefined && !this.usingFallback) {
      // The project's resolution settings do not work for codegen: its own may.
      const project = new Project({ compilerOptions: this.settings.fallback, resolutionHost: contractResolution });
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
    this.warmed = undefined;
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
 * that does not resolve, a type printed as `any`). A warm probe that does not print cleanly gives way
 * to one made for exactly these requests, whose diagnostics then name the problem.
 */
function attempt(project: Project, requests: readonly TypeRequest[], warmed?: Probe): { printed: string[] } | { errors: string[] } {
  if (warmed !== undefined) {
    try {
      const printed = warmed.resolves(requests) ? warmed.print(requests) : undefined;
      if (printed !== undefined && !printed.includes("any")) return { printed };
    } finally {
      project.removeSourceFile(warmed.file);
    }
  }
  const exports = [...new Map(requests.map((request) => [`${request.file}#${request.exportName}`, { file: request.file, exportName: request.exportName }])).values()];
  const probe = typeProbe(project, exports);
  try {
    const printed = probe.resolves(requests) ? probe.print(requests) : undefined;
    if (printed !== undefined && !printed.includes("any")) return { printed };
    const errors = probe.errors(requests);
    return errors.length > 0 ? { errors } : { printed: printed ?? probe.print(requests) };
  } finally {
    project.removeSourceFile(probe.file); // the next print brings its own probe
  }
}

interface ProbeExport {
  /** Absolute path of a contract module. */
  file: string;
  exportName: string;
}

/** A file that imports the contracts' exports as types, the place the checker resolves and prints them from. */
interface Probe {
  file: SourceFile;
  /** Does the probe import what every request needs? */
  covers(requests: readonly TypeRequest[]): boolean;
  /** Have the checker infer the type of every export the probe imports. */
  infer(): void;
  resolves(requests: readonly TypeRequest[]): boolean;
  errors(requests: readonly TypeRequest[]): string[];
  print(requests: readonly TypeRequest[]): string[];
}

function typeProbe(project: Project, exports: readonly ProbeExport[]): Probe {
  const files = [...new Set(exports.map((e) => e.file))];
  for (const file of files) if (project.getSourceFile(file) === undefined) project.addSourceFileAtPath(file);
  // The probe sits next to the first contract so that it resolves modules like the contracts do.
  const probePath = files[0]!.replace(/[^/\\]+$/, "__mqtt_contracts_type_probe__.ts");
  // zod stays in scope as `z` and `z3` for the printed names, as when the probe spelled out `z.output<…>`.
  const lines = ['import type { z } from "zod";', 'import type * as z3 from "zod/v3";'];
  const aliases = new Map<string, string>();
  for (const { file, exportName } of exports) {
    const key = `${file}#${exportName}`;
    if (aliases.has(key)) continue;
    const alias = `C${aliases.size}`;
    aliases.set(key, alias);
    lines.push(`import type { ${exportName} as ${alias} } from ${JSON.stringify(relativeImport(dirname(probePath), file))};`);
  }
  const probe = project.createSourceFile(probePath, lines.join("\n"), { overwrite: true });
  const requestFiles = (requests: readonly TypeRequest[]) => [...new Set(requests.map((request) => request.file))];
  // An import a contract makes that does not resolve turns its types into `any` without an error in the probe.
  const unresolved = (requests: readonly TypeRequest[]) => requestFiles(requests).flatMap((file) => unresolvedImports(project.getSourceFileOrThrow(file)));
  // The contracts' symbols, looked up once: `infer` and `print` of one probe share a checker.
  let resolved: { checker: ts.TypeChecker; symbols: Map<string, ts.Symbol> } | undefined;
  const contracts = () => (resolved ??= lookUp());
  const lookUp = () => {
    const checker = project.getTypeChecker().compilerObject;
    const symbols = new Map<string, ts.Symbol>();
    for (const statement of probe.compilerNode.statements) {
      const binding = ts.isImportDeclaration(statement) ? statement.importClause?.namedBindings : undefined;
      if (binding === undefined || !ts.isNamedImports(binding)) continue;
      const symbol = checker.getSymbolAtLocation(binding.elements[0]!.name);
      if (symbol !== undefined) symbols.set(binding.elements[0]!.name.text, symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
    }
    return { checker, symbols };
  };
  return {
    file: probe,
    covers: (requests) => requests.every((request) => aliases.has(`${request.file}#${request.exportName}`)),
    infer: () => {
      const { checker, symbols } = contracts();
      for (const symbol of symbols.values()) checker.getTypeOfSymbol(symbol);
    },
    resolves: (requests) => unresolvedImports(probe).length === 0 && unresolved(requests).length === 0,
    errors: (requests) => [
      ...probe
        .getPreEmitDiagnostics()
        .filter((d) => d.getCategory() === ts.DiagnosticCategory.Error)
        .map((d) => describeDiagnostic(d.compilerObject, lines)),
      ...unresolved(requests),
    ],
    print: (requests) => {
      const { checker, symbols } = contracts();
      const printer = new TypePrinter(checker);
      // Printed from the probe, as if in a type alias at its end: names resolve as from the probe's imports.
      const at = probe.compilerNode.statements.at(-1)!;
      return requests.map((request) => {
        const contract = symbols.get(aliases.get(`${request.file}#${request.exportName}`)!);
        return printer.print(contract === undefined ? checker.getAnyType() : schemaType(checker, checker.getTypeOfSymbol(contract), request), at, request.jsonSchema, "");
      });
    },
  };
}

/** The names of the constants `file` exports in `export const …` statements. */
function exportedConstants(file: SourceFile | undefined): string[] {
  return (file?.compilerNode.statements ?? []).flatMap((statement) =>
    ts.isVariableStatement(statement) && statement.modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)
      ? statement.declarationList.declarations.flatMap((declaration) => (ts.isIdentifier(declaration.name) ? [declaration.name.text] : []))
      : [],
  );
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
