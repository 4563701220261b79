import { posix } from "node:path";
import { IndentationText, Project, QuoteKind, Scope, StructureKind, type ClassDeclarationStructure, type MethodDeclarationStructure, type OptionalKind, type StatementStructures } from "ts-morph";
import { relativeImport } from "./import-path.js";
import type { GenerateOptions } from "./shared-files.js";
import type { ContractModel, GeneratedFile, JsonSchema, MethodModel, SchemaModel, ServiceModel } from "./model.js";
import { serviceNames } from "./names.js";
import { headerText, json, sharedFiles } from "./shared-files.js";
import { jsDoc } from "./type-printer.js";

export type { GenerateOptions } from "./shared-files.js";

export { headerText } from "./shared-files.js";

/**
 * Turn the model into files. Pure: no disk, no clock, same model → byte-identical output.
 * Per service: `<service>.ts` (types, topic helpers, client, handler interface, registration) and
 * `<service>.schema.json`; once: `asyncapi.json` and `index.ts`.
 */
export function generate(model: ContractModel, options: GenerateOptions = {}): GeneratedFile[] {
  return [...serviceFiles(model.services, options), ...sharedFiles(model, options)];
}

/** The two files of each service, `<service>.ts` and `<service>.schema.json`, service by service. */
export function serviceFiles(services: readonly ServiceModel[], options: GenerateOptions = {}): GeneratedFile[] {
  const outDir = options.outDir ?? "generated";
  const runtimeImport = options.runtimeImport ?? "mqtt-contracts";
  const project = new Project({ useInMemoryFileSystem: true, manipulationSettings: { indentationText: IndentationText.TwoSpaces, quoteKind: QuoteKind.Double } });
  const files: GeneratedFile[] = [];
  for (const service of services) {
    const path = posix.join(outDir, `${service.name}.ts`);
    const contractImport = relativeImport(outDir, service.file);
    const source = project.createSourceFile(`/${path}`, { statements: serviceStatements(service, contractImport, runtimeImport) });
    files.push({ path, content: `// ${headerText([service.file])}\n${source.getFullText()}` });
    project.removeSourceFile(source);
    files.push({ path: posix.join(outDir, `${service.name}.schema.json`), content: json({ $comment: headerText([service.file]), ...serviceJsonSchema(service) }) });
  }
  return files;
}

function serviceStatements(service: ServiceModel, contractImport: string, runtimeImport: string): (string | StatementStructures)[] {
  const names = serviceNames(service.name);
  const statements: (string | StatementStructures)[] = [];
  const errors = uniqueErrors(service);
  const runtimeValues = ["ServiceClient", "registerService", "requestTopic", "notificationTopic", "requestFilter", "notificationFilter"];
  if (errors.length) runtimeValues.push("ContractError");
  const runtimeTypes = ["CallOptions", "Communicator", "HandlerContext", "RegisterServiceOptions"];
  if (service.methods.some((m) => m.yields)) runtimeTypes.push("CallStream", "StreamCallOptions");
  runtimeTypes.sort();
  statements.push(
    { kind: StructureKind.ImportDeclaration, moduleSpecifier: runtimeImport, namedImports: runtimeValues },
    { kind: StructureKind.ImportDeclaration, moduleSpecifier: runtimeImport, isTypeOnly: true, namedImports: runtimeTypes },
    { kind: StructureKind.ImportDeclaration, moduleSpecifier: contractImport, namedImports: [service.exportName] },
    "",
  );

  // Plain declarations of every params, item and result type, printed by the compiler.
  for (const method of service.methods) {
    statements.push(declaration(names.params(method.name), method.params.type, `Params of \`${service.name}.${method.name}\`, as the handler receives them.`));
    if (method.params.inputType) statements.push(declaration(names.paramsInput(method.name), method.params.inputType, `Params of \`${service.name}.${method.name}\`, as callers send them (before defaults apply).`));
    if (method.yields) statements.push(declaration(names.item(method.name), method.yields.type, `Each item \`${service.name}.${method.name}\` streams, as its handler yields it and callers receive it.`));
    statements.push(declaration(names.result(method.name), method.result.type, `Result of \`${service.name}.${method.name}\`.`));
  }
  for (const notification of service.notifications) {
    statements.push(declaration(names.params(notification.name), notification.params.type, `Params of the \`${service.name}.${notification.name}\` notification, as the handler receives them.`));
    if (notification.params.inputType) statements.push(declaration(names.paramsInput(notification.name), notification.params.inputType, `Params of the \`${service.name}.${notification.name}\` notification, as senders send them.`));
  }

  // Declared application errors: thrown by handlers, caught by clients, by class.
  for (const error of errors) {
    const dataType = error.data ? names.errorData(error.name) : "undefined";
    if (error.data) statements.push(declaration(dataType, error.data.type, `\`data\` of ${names.error(error.name)}.`));
    statements.push({
      kind: StructureKind.Class,
      isExported: true,
      name: names.error(error.name),
      extends: `ContractError<${JSON.stringify(error.name)}, ${dataType}>`,
      docs: [`${error.description ?? `The ${error.name} error of ${service.name}.`}\n\nJSON-RPC error code ${error.code}.`],
      properties: [{ name: "code", isStatic: true, isReadonly: true, type: `${error.code}`, initializer: `${error.code}` }],
      ctors: [
        {
          parameters: [
            error.data ? { name: "data", type: dataType } : { name: "data", type: "undefined", initializer: "undefined" },
            { name: "message", type: "string", initializer: JSON.stringify(error.description ?? error.name) },
            { name: "options", type: "{ target?: string; cause?: unknown }", initializer: "{}" },
          ],
          statements: [`super(${JSON.stringify(error.name)}, ${error.code}, message, data, options);`, `this.name = ${JSON.stringify(names.error(error.name))};`],
        },
      ],
    });
  }

  // Topic helpers.
  const requests = service.methods.map((m) => `    ${m.name}: requestTopic(prefix, ${JSON.stringify(m.name)}),`).join("\n");
  const notifications = service.notifications.map((n) => `    ${n.name}: notificationTopic(prefix, ${JSON.stringify(n.name)}),`).join("\n");
  statements.push({
    kind: StructureKind.Function,
    isExported: true,
    name: names.topics,
    docs: [`The exact topics of the ${service.name} service under \`prefix\` (its \`serviceUrls\` value).`],
    parameters: [{ name: "prefix", type: "string" }],
    statements: [
      `return {\n  requests: {\n${requests}\n  },\n  notifications: {\n${notifications}\n  },\n  requestFilter: requestFilter(prefix),\n  notificationFilter: notificationFilter(prefix),\n} as const;`,
    ],
  });

  // Handler interface: every method and notification required.
  statements.push({
    kind: StructureKind.Interface,
    isExported: true,
    name: names.handlers,
    docs: [`Handlers of the ${service.name} service: one per method and notification, all required.`],
    methods: [
      ...service.methods.map((m) => ({
        name: m.name,
        docs: docs(m.yields ? [m.description, STREAM_HANDLER_DOC].filter(Boolean).join("\n\n") : m.description),
        parameters: [{ name: "params", type: names.params(m.name) }, { name: "context", type: "HandlerContext" }],
        returnType: m.yields
          ? `AsyncGenerator<${names.item(m.name)}, ${names.result(m.name)}, undefined>`
          : `${names.result(m.name)} | Promise<${names.result(m.name)}>`,
      })),
      ...service.notifications.map((n) => ({
        name: n.name,
        docs: docs(n.description),
        parameters: [{ name: "params", type: names.params(n.name) }, { name: "context", type: "HandlerContext" }],
        returnType: "void | Promise<void>",
      })),
    ],
  });

  statements.push({
    kind: StructureKind.Function,
    isExported: true,
    name: names.register,
    docs: [`Serve the ${service.name} service on \`communicator\`: params are validated before a handler runs (-32602 otherwise), results before they are sent (-32603 otherwise). Returns a function that unregisters the handlers.`],
    parameters: [{ name: "communicator", type: "Communicator" }, { name: "handlers", type: names.handlers }, { name: "options", type: "RegisterServiceOptions", hasQuestionToken: true }],
    returnType: "() => void",
    statements: [`return registerService(communicator, ${service.exportName}, handlers, options);`],
  });

  statements.push(clientClass(service, errors));
  return statements;
}

function clientClass(service: ServiceModel, errors: ReturnType<typeof uniqueErrors>): ClassDeclarationStructure {
  const names = serviceNames(service.name);
  const errorMap = service.methods
    .filter((m) => m.errors.length > 0)
    .map((m) => `${m.name}: { ${m.errors.map((e) => `${e.name}: ${names.error(e.name)}`).join(", ")} }`);
  const methods: OptionalKind<MethodDeclarationStructure>[] = [
    ...service.methods.map((m) => {
      const paramsType = m.params.inputType ? names.paramsInput(m.name) : names.params(m.name);
      // A streaming method returns its CallStream at once; any other, the promise of its result.
      const returnType = m.yields ? `CallStream<${names.item(m.name)}, ${names.result(m.name)}>` : `Promise<${names.result(m.name)}>`;
      return {
        name: m.name,
        docs: docs(methodDoc(m, errors.length > 0 ? names.error : undefined)),
        parameters: [
          { name: "params", type: paramsType, ...(isEmptyObject(m.params) ? { initializer: "{}" } : {}) },
          { name: "options", type: m.yields ? "StreamCallOptions" : "CallOptions", hasQuestionToken: true },
        ],
        returnType,
        statements: [`return this.client.${m.yields ? "stream" : "call"}(${JSON.stringify(m.name)}, params, options) as ${returnType};`],
      };
    }),
    ...service.notifications.map((n) => ({
      name: n.name,
      docs: docs(n.description ? `${n.description}\n\nA notification: resolves once published; nothing comes back.` : "A notification: resolves once published; nothing comes back."),
      parameters: [{ name: "params", type: n.params.inputType ? names.paramsInput(n.name) : names.params(n.name), ...(isEmptyObject(n.params) ? { initializer: "{}" } : {}) }],
      returnType: "Promise<void>",
      statements: [`return this.client.notify(${JSON.stringify(n.name)}, params);`],
    })),
  ];
  return {
    kind: StructureKind.Class,
    isExported: true,
    name: names.client,
    docs: [`Typed client of the ${service.name} service${service.description ? `: ${service.description}` : "."}\n\nParams are validated before sending (invalid ones raise ValidationError and publish nothing); results are validated on receipt.`],
    properties: [{ name: "client", scope: Scope.Private, isReadonly: true, type: "ServiceClient", docs: ["The generic client every call goes through."] }],
    ctors: [
      {
        docs: ["@param communicator - a started communicator\n@param targetService - the service's name in the communicator's `serviceUrls`"],
        parameters: [{ name: "communicator", type: "Communicator" }, { name: "targetService", type: "string" }],
        statements: [`this.client = new ServiceClient(communicator, ${service.exportName}, targetService${errorMap.length ? `, { ${errorMap.join(", ")} }` : ""});`],
      },
    ],
    methods,
  };
}

const STREAM_HANDLER_DOC = "Streams: an async generator that yields each item and returns the result. `context.signal` aborts when the caller cancels; the generator's `finally` runs.";
const STREAM_CLIENT_DOC =
  "Streams: iterate the items with `for await`, then await `result`. Breaking out of the loop or `cancel()` ends the call, and the handler sees its signal abort. Each item and the result are validated on receipt.";

function methodDoc(method: MethodModel, errorClass: ((name: string) => string) | undefined): string | undefined {
  const lines = method.description ? [method.description] : [];
  if (method.yields) lines.push(STREAM_CLIENT_DOC);
  if (method.timeoutMs !== undefined) lines.push(`Default timeout: ${method.timeoutMs} ms${method.yields ? " for the whole stream" : ""}.`);
  if (method.idleTimeoutMs !== undefined) lines.push(`Default idle timeout: ${method.idleTimeoutMs} ms without an item.`);
  if (errorClass) for (const error of method.errors) lines.push(`@throws {@link ${errorClass(error.name)}} ${error.description ?? error.name} (code ${error.code})`);
  return lines.length ? lines.join("\n\n") : undefined;
}

function uniqueErrors(service: ServiceModel) {
  const byName = new Map<string, MethodModel["errors"][number]>();
  for (const method of service.methods) for (const error of method.errors) if (!byName.has(error.name)) byName.set(error.name, error);
  return [...byName.values()];
}

/** `export interface X {…}` for object literals, `export type X = …` otherwise, with a doc comment. */
function declaration(name: string, type: string, doc: string): string {
  const body = isObjectLiteralText(type) ? `export interface ${name} ${type}` : `export type ${name} = ${type};`;
  return `${jsDoc(doc, "")}${body}`;
}

/** Is the whole text one `{ … }` (and not, say, `{ … } | { … }`)? String literals inside are skipped. */
function isObjectLiteralText(type: string): boolean {
  if (!type.startsWith("{")) return false;
  let depth = 0;
  for (let i = 0; i < type.length; i++) {
    const c = type[i];
    if (c === "'" || c === '"') {
      for (i++; i < type.length && type[i] !== c; i++) if (type[i] === "\\") i++;
    } else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i === type.length - 1;
  }
  return false;
}

function docs(text: string | undefined): string[] {
  return text ? [text] : [];
}

/** `{}`, or Zod 4's inference for `z.object({})`: callers may leave such params out. */
function isEmptyObject(schema: SchemaModel): boolean {
  return /^\{\s*(\[x: string\]: never;)?\s*\}$/.test(schema.inputType ?? schema.type);
}

/** JSON Schema of every params, item, result and error data of a service, under the TS type names. */
function serviceJsonSchema(service: ServiceModel): JsonSchema {
  const names = serviceNames(service.name);
  const definitions: Record<string, JsonSchema> = {};
  for (const method of service.methods) {
    definitions[names.params(method.name)] = method.params.jsonSchema;
    if (method.yields) definitions[names.item(method.name)] = method.yields.jsonSchema;
    definitions[names.result(method.name)] = method.result.jsonSchema;
    for (const error of method.errors) if (error.data) definitions[names.errorData(error.name)] = error.data.jsonSchema;
  }
  for (const notification of service.notifications) definitions[names.params(notification.name)] = notification.params.jsonSchema;
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: `${service.name} service`,
    ...(service.description ? { description: service.description } : {}),
    definitions,
  };
}

