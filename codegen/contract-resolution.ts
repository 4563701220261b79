/**
 * How codegen's type check resolves a contract's import of "mqtt-contracts". The package's main
 * declarations are the whole runtime's, and they bring Node's (about 2.5 MB of declarations to parse
 * and bind): in a small project that was half of the type check. A module that imports from
 * "mqtt-contracts" only what "mqtt-contracts/contract" exports (`defineService` and its types, the same
 * declarations) is resolved there instead; any other import resolves as the project resolves it.
 */
import { ts, type ResolutionHostFactory } from "ts-morph";

const PACKAGE = "mqtt-contracts";
const CONTRACT_ENTRY = "mqtt-contracts/contract";

/** What src/contract-entry.ts exports (test/codegen-resolution.test.ts checks the two agree). */
export const CONTRACT_ENTRY_EXPORTS: ReadonlySet<string> = new Set([
  "defineService",
  "isServiceContract",
  "AnySchema",
  "ErrorContract",
  "MethodContract",
  "NotificationContract",
  "ParamsLike",
  "SchemaLike",
  "ServiceContract",
  "ServiceDefinition",
]);

/** Does `file` import from "mqtt-contracts" by name only, and only names the contract entry has? */
export function needsOnlyContractEntry(file: ts.SourceFile): boolean {
  for (const statement of file.statements) {
    if (!(ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement))) continue;
    const specifier = statement.moduleSpecifier;
    if (specifier === undefined || !ts.isStringLiteral(specifier) || specifier.text !== PACKAGE) continue;
    const bindings = ts.isImportDeclaration(statement) ? (statement.importClause?.name ? undefined : statement.importClause?.namedBindings) : statement.exportClause;
    if (bindings === undefined || !(ts.isNamedImports(bindings) || ts.isNamedExports(bindings))) return false;
    if (!bindings.elements.every((element) => CONTRACT_ENTRY_EXPORTS.has((element.propertyName ?? element.name).text))) return false;
  }
  return true;
}

/** A ts-morph resolution host that sends such imports to "mqtt-contracts/contract" when the package has it. */
export const contractResolution: ResolutionHostFactory = (host, getCompilerOptions) => {
  let cache: ts.ModuleResolutionCache | undefined;
  const resolve = (name: string, containingFile: string, redirected: ts.ResolvedProjectReference | undefined, mode: ts.ResolutionMode) => {
    const options = getCompilerOptions();
    cache ??= ts.createModuleResolutionCache(host.getCurrentDirectory?.() ?? process.cwd(), (fileName) => (ts.sys.useCaseSensitiveFileNames ? fileName : fileName.toLowerCase()), options);
    return ts.resolveModuleName(name, containingFile, options, host, cache, redirected, mode).resolvedModule;
  };
  return {
    resolveModuleNames(moduleNames, containingFile, _reused, redirected, _options, containingSourceFile) {
      const light = containingSourceFile !== undefined && moduleNames.includes(PACKAGE) && needsOnlyContractEntry(containingSourceFile);
      return moduleNames.map((name) => {
        const mode = containingSourceFile && resolutionMode(containingSourceFile, name, getCompilerOptions());
        return (light && name === PACKAGE ? resolve(CONTRACT_ENTRY, containingFile, redirected, mode) : undefined) ?? resolve(name, containingFile, redirected, mode);
      });
    },
  };
};

/**
 * The mode (import or require) `name` resolves in from `file`, as TypeScript decides it for the first
 * place the file uses it: `imports` is the list of module names the parser collected.
 */
function resolutionMode(file: ts.SourceFile, name: string, options: ts.CompilerOptions): ts.ResolutionMode {
  const usage = (file as ts.SourceFile & { imports?: readonly ts.StringLiteralLike[] }).imports?.find((literal) => literal.text === name);
  return usage === undefined ? file.impliedNodeFormat : ts.getModeForUsageLocation(file, usage, options);
}
