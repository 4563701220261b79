import { DEFAULT_REQUEST_TIMEOUT_MS } from "../src/communicator/defaults.js";
import { ErrorCode } from "../src/errors/codes.js";
import { notificationTopic, requestTopic, responseTopic } from "../src/wire/jsonrpc/topics.js";
import type { ContractModel, ErrorModel, JsonSchema, MethodModel, NotificationModel, ServiceModel } from "./model.js";

/**
 * The AsyncAPI 3.0.0 document of every service in the model, from the server's point of view: a
 * service receives requests and notifications and sends replies. Pure and deterministic: the same
 * model gives the same document, key for key.
 *
 * Keys: channels `S.request.m`, `S.response`, `S.notification.n`; operations `S.m` and `S.n`
 * (a name is never both a method and a notification); messages `S.m.request`, `S.m.result`,
 * `S.m.error`, `S.n.notification`. Model schemas are inlined; their `definitions` (recursive or
 * `.meta({ id })` schemas) move to `components.schemas` as `S.m.params.<name>` and so on.
 *
 * Throws if a service, method or notification name cannot be an AsyncAPI key segment; contracts
 * that passed validation always can.
 */
export function buildAsyncApi(model: ContractModel): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, JsonSchema> = {};
  const tags: Record<string, unknown> = {};

  for (const service of model.services) {
    const S = checkName(service.name, "service");
    tags[S] = { name: S, ...(service.description === undefined ? {} : { description: service.description }) };
    const tagRefs = [{ $ref: `#/components/tags/${S}` }];
    const prefix = { description: `Topic prefix of service ${S}: its serviceUrls value (the server's own topicPrefix).` };

    for (const method of service.methods) {
      const m = checkName(method.name, "method");
      const channel = `${S}.request.${m}`;
      messages[`${S}.${m}.request`] = requestMessage(S, method, schemas);
      messages[`${S}.${m}.result`] = resultMessage(S, method, schemas);
      messages[`${S}.${m}.error`] = errorMessage(S, method, schemas);
      channels[channel] = {
        address: requestTopic("{prefix}", m),
        title: `${S}.${m} requests`,
        description:
          `Requests for ${S}.${m}. A server subscribes {prefix}/request/#, so a request published to plain ` +
          "{prefix}/request (as the OpenMAS Python example does) reaches it too: the payload's method decides.",
        messages: { request: { $ref: `#/components/messages/${S}.${m}.request` } },
        parameters: { prefix },
        tags: tagRefs,
      };
      operations[`${S}.${m}`] = {
        action: "receive",
        channel: { $ref: `#/channels/${channel}` },
        title: `${S}.${m}`,
        ...texts(method.description),
        tags: tagRefs,
        messages: [{ $ref: `#/channels/${channel}/messages/request` }],
        reply: {
          address: {
            location: "$message.payload#/response_topic",
            description: "The request's response_topic; the MQTT 5 Response Topic property takes precedence when present.",
          },
          channel: { $ref: `#/channels/${S}.response` },
          messages: [
            { $ref: `#/channels/${S}.response/messages/${m}.result` },
            { $ref: `#/channels/${S}.response/messages/${m}.error` },
          ],
        },
        bindings: {
          mqtt: {
            qos: 1,
            retain: false,
            messageExpiryInterval: {
              type: "integer",
              minimum: 1,
              default: Math.ceil((method.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS) / 1000),
              description:
                "Set by MQTT 5 clients to the call's timeout in seconds, rounded up; the server aborts the handler when it passes.",
            },
            bindingVersion: MQTT_BINDING_VERSION,
          },
        },
      };
    }

    if (service.methods.length > 0) {
      channels[`${S}.response`] = {
        address: responseTopic("{prefix}", "{clientId}"),
        title: `${S} responses`,
        description:
          `Responses of ${S}, one per request. In practice a response is published to exactly the request's ` +
          "response_topic (or its MQTT 5 Response Topic property); clients of this package use " +
          "<own prefix>/response/<clientId>, one topic per communicator, and correlate by id.",
        messages: Object.fromEntries(
          service.methods.flatMap((method) => [
            [`${method.name}.result`, { $ref: `#/components/messages/${S}.${method.name}.result` }],
            [`${method.name}.error`, { $ref: `#/components/messages/${S}.${method.name}.error` }],
          ]),
        ),
        parameters: {
          prefix: { description: "Topic prefix of the calling client: its own topicPrefix." },
          clientId: { description: "Client id of the calling communicator instance." },
        },
        tags: tagRefs,
      };
    }

    for (const notification of service.notifications) {
      const n = checkName(notification.name, "notification");
      const channel = `${S}.notification.${n}`;
      messages[`${S}.${n}.notification`] = notificationMessage(S, notification, schemas);
      channels[channel] = {
        address: notificationTopic("{prefix}", n),
        title: `${S}.${n} notifications`,
        description: `Notifications ${S}.${n}. A server subscribes {prefix}/notification/# and never answers.`,
        messages: { notification: { $ref: `#/components/messages/${S}.${n}.notification` } },
        parameters: { prefix },
        tags: tagRefs,
      };
      operations[`${S}.${n}`] = {
        action: "receive",
        channel: { $ref: `#/channels/${channel}` },
        title: `${S}.${n}`,
        ...texts(notification.description),
        tags: tagRefs,
        messages: [{ $ref: `#/channels/${channel}/messages/notification` }],
        bindings: { mqtt: { qos: 1, retain: false, bindingVersion: MQTT_BINDING_VERSION } },
      };
    }
  }

  return {
    asyncapi: "3.0.0",
    info: {
      title: "mqtt-contracts services",
      version: documentVersion(model.services),
      description: infoDescription(model.services),
    },
    servers: {
      local: {
        host: "localhost:1883",
        protocol: "mqtt",
        description: "A local broker, e.g. `npm run broker`. Any MQTT 3.1.1 or 5 broker works; MQTT 5 adds the properties described in the bindings.",
      },
    },
    defaultContentType: "application/json",
    channels,
    operations,
    components: {
      ...(Object.keys(schemas).length > 0 ? { schemas } : {}),
      messages,
      tags,
    },
  };
}

const MQTT_BINDING_VERSION = "0.2.0";

/** A key segment: no dot, since dots separate the segments of our keys. */
const KEY_SEGMENT = /^[A-Za-z0-9_-]+$/;

function checkName(name: string, kind: string): string {
  if (!KEY_SEGMENT.test(name)) throw new Error(`AsyncAPI: ${kind} name ${JSON.stringify(name)} must match ${KEY_SEGMENT}`);
  return name;
}

/** The codes a server answers with on its own, each with what it means for the caller. */
const STANDARD_ERRORS: readonly { name: string; code: number; description: string }[] = [
  { name: "ParseError", code: ErrorCode.ParseError, description: "The payload was not valid JSON." },
  { name: "InvalidRequest", code: ErrorCode.InvalidRequest, description: "The payload was not a valid JSON-RPC 2.0 request." },
  { name: "MethodNotFound", code: ErrorCode.MethodNotFound, description: "The server has no handler for the method." },
  { name: "InvalidParams", code: ErrorCode.InvalidParams, description: "The params failed the method's schema; data holds the issues." },
  { name: "InternalError", code: ErrorCode.InternalError, description: "The server failed outside the handler, e.g. the result broke the contract." },
  { name: "HandlerError", code: ErrorCode.HandlerError, description: "The handler threw an error that carried no code of its own." },
];

const JSONRPC = { type: "string", const: "2.0" } as const;

function requestMessage(S: string, method: MethodModel, schemas: Record<string, JsonSchema>): Record<string, unknown> {
  return {
    name: `${S}.${method.name}.request`,
    title: `${S}.${method.name} request`,
    ...texts(method.description),
    correlationId: correlationId(),
    payload: {
      type: "object",
      required: ["jsonrpc", "id", "method", "params"],
      properties: {
        jsonrpc: JSONRPC,
        id: { type: ["string", "number"], description: "Chosen by the client; the response carries the same id." },
        method: { type: "string", const: method.name },
        params: embedSchema(method.params.jsonSchema, `${S}.${method.name}.params`, schemas),
        response_topic: {
          type: "string",
          description: "Where the response goes. The MQTT 5 Response Topic property takes precedence when present.",
        },
      },
    },
    bindings: {
      mqtt: {
        responseTopic: {
          type: "string",
          description: "MQTT 5 Response Topic property: optional (mqtt-contracts clients rely on response_topic and do not send it); where the response goes, in preference to response_topic, when present.",
        },
        correlationData: {
          type: "string",
          description: "MQTT 5 Correlation Data property: optional (mqtt-contracts clients correlate by the JSON-RPC id and do not send it); the server echoes it in the response when present.",
        },
        bindingVersion: MQTT_BINDING_VERSION,
      },
    },
  };
}

function resultMessage(S: string, method: MethodModel, schemas: Record<string, JsonSchema>): Record<string, unknown> {
  return {
    name: `${S}.${method.name}.result`,
    title: `${S}.${method.name} result`,
    summary: `The successful response to ${S}.${method.name}.`,
    correlationId: correlationId(),
    payload: {
      type: "object",
      required: ["jsonrpc", "id", "result"],
      properties: {
        jsonrpc: JSONRPC,
        id: { type: ["string", "number"], description: "The id of the request." },
        result: embedSchema(method.result.jsonSchema, `${S}.${method.name}.result`, schemas),
      },
    },
    bindings: responseBindings(),
  };
}

function errorMessage(S: string, method: MethodModel, schemas: Record<string, JsonSchema>): Record<string, unknown> {
  const standard = {
    title: "JSON-RPC error",
    type: "object",
    required: ["code", "message"],
    properties: {
      code: {
        type: "integer",
        oneOf: STANDARD_ERRORS.map(({ name, code, description }) => ({ const: code, title: name, description })),
      },
      message: { type: "string" },
      data: { description: "Details, e.g. the validation issues of an InvalidParams error." },
    },
  };
  const declared = method.errors.map((error) => declaredError(S, method, error, schemas));
  return {
    name: `${S}.${method.name}.error`,
    title: `${S}.${method.name} error`,
    summary: `The error response to ${S}.${method.name}.`,
    description:
      declared.length > 0
        ? `One of the application errors declared by ${S}.${method.name} (${method.errors.map((e) => `${e.name} ${e.code}`).join(", ")}), or a JSON-RPC error.`
        : "A JSON-RPC error.",
    correlationId: correlationId(),
    payload: {
      type: "object",
      required: ["jsonrpc", "id", "error"],
      properties: {
        jsonrpc: JSONRPC,
        id: { type: ["string", "number", "null"], description: "The id of the request; null if it could not be read." },
        error: declared.length > 0 ? { oneOf: [...declared, standard] } : standard,
      },
    },
    bindings: responseBindings(),
  };
}

function declaredError(S: string, method: MethodModel, error: ErrorModel, schemas: Record<string, JsonSchema>): JsonSchema {
  return {
    title: error.name,
    ...(error.description === undefined ? {} : { description: error.description }),
    type: "object",
    required: ["code", "message"],
    properties: {
      code: { type: "integer", const: error.code },
      message: { type: "string" },
      ...(error.data === undefined ? {} : { data: embedSchema(error.data.jsonSchema, `${S}.${method.name}.errors.${error.name}.data`, schemas) }),
    },
  };
}

function notificationMessage(S: string, notification: NotificationModel, schemas: Record<string, JsonSchema>): Record<string, unknown> {
  return {
    name: `${S}.${notification.name}.notification`,
    title: `${S}.${notification.name} notification`,
    ...texts(notification.description),
    payload: {
      type: "object",
      required: ["jsonrpc", "method", "params"],
      properties: {
        jsonrpc: JSONRPC,
        method: { type: "string", const: notification.name },
        params: embedSchema(notification.params.jsonSchema, `${S}.${notification.name}.params`, schemas),
      },
    },
  };
}

function correlationId(): Record<string, unknown> {
  return { description: "The JSON-RPC id: a response carries the id of its request.", location: "$message.payload#/id" };
}

function responseBindings(): Record<string, unknown> {
  return {
    mqtt: {
      correlationData: {
        type: "string",
        description: "MQTT 5 Correlation Data property, echoed from the request when it had one.",
      },
      bindingVersion: MQTT_BINDING_VERSION,
    },
  };
}

/** `summary` is the first line of a description, `description` all of it. */
function texts(description: string | undefined): { summary?: string; description?: string } {
  if (description === undefined || description.trim() === "") return {};
  return { summary: description.trim().split("\n")[0]!.trim(), description };
}

function documentVersion(services: readonly ServiceModel[]): string {
  const versions = new Set(services.map((service) => service.version));
  const [only] = versions;
  return versions.size === 1 && only !== undefined ? only : "1.0.0";
}

function infoDescription(services: readonly ServiceModel[]): string {
  const lines = [
    "JSON-RPC 2.0 over MQTT, generated by mqtt-contracts from its contracts. Seen from the server: each service " +
      "receives requests and notifications under its topic prefix and publishes each response to the request's response topic.",
    "",
    "Services:",
    "",
  ];
  for (const service of services) {
    const head = `- **${service.name}**${service.version === undefined ? "" : ` ${service.version}`}`;
    const body = service.description?.trim().split("\n") ?? [];
    lines.push(body.length > 0 ? `${head}: ${body[0]}` : head);
    // Continuation lines stay inside the list item.
    for (const line of body.slice(1)) lines.push(line.trim() === "" ? "" : `  ${line}`);
  }
  return lines.join("\n");
}

const DEFINITION_POINTERS = ["#/definitions/", "#/$defs/"] as const;
/** Keywords whose values are data, not schemas: `$ref` inside them is not a reference. */
const DATA_KEYWORDS = new Set(["const", "enum", "default", "examples", "example"]);
/** Keywords whose values map names to schemas: their keys are names, not keywords. */
const NAME_MAPS = new Set(["properties", "patternProperties", "definitions", "$defs", "dependencies"]);

/**
 * Inline `schema` into the document. Its `definitions`/`$defs` go to `schemas` under `ns.<name>`,
 * and every `$ref` to them (or to the schema's root, `#`) is rewritten, because inside the bigger
 * document `#` means the document.
 */
function embedSchema(schema: JsonSchema, ns: string, schemas: Record<string, JsonSchema>): JsonSchema {
  const { definitions, $defs, ...root } = schema;
  const targets = new Map<string, string>();
  const used = new Set<string>();
  const pending: [string, unknown][] = [];
  for (const [pointer, defs] of [[DEFINITION_POINTERS[0], definitions], [DEFINITION_POINTERS[1], $defs]] as const) {
    if (!isObject(defs)) continue;
    for (const [name, def] of Object.entries(defs)) {
      let key = `${ns}.${name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
      for (let i = 2; used.has(key); i++) key = `${ns}.${name.replace(/[^A-Za-z0-9_-]/g, "_")}_${i}`;
      used.add(key);
      const token = escapePointer(name);
      for (const form of new Set([token, encodeURI(token)])) targets.set(`${pointer}${form}`, `#/components/schemas/${key}`);
      pending.push([key, def]);
    }
  }
  let rootUsed = false;
  const rewrite = (ref: string): string => {
    if (ref === "#") {
      rootUsed = true;
      return `#/components/schemas/${ns}`;
    }
    for (const [from, to] of targets) {
      if (ref === from || ref.startsWith(`${from}/`)) return to + ref.slice(from.length);
    }
    return ref;
  };
  for (const [key, def] of pending) schemas[key] = rewriteRefs(def, rewrite, undefined) as JsonSchema;
  const embedded = rewriteRefs(root, rewrite, undefined) as JsonSchema;
  if (!rootUsed) return embedded;
  schemas[ns] = embedded;
  return { $ref: `#/components/schemas/${ns}` };
}

/** A deep copy of a schema with every `$ref` string passed through `rewrite`. */
function rewriteRefs(node: unknown, rewrite: (ref: string) => string, parentKey: string | undefined): unknown {
  if (Array.isArray(node)) return node.map((item) => rewriteRefs(item, rewrite, parentKey));
  if (!isObject(node)) return node;
  const inNameMap = parentKey !== undefined && NAME_MAPS.has(parentKey);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (inNameMap) out[key] = rewriteRefs(value, rewrite, undefined);
    else if (key === "$ref" && typeof value === "string") out[key] = rewrite(value);
    else if (DATA_KEYWORDS.has(key)) out[key] = structuredClone(value);
    else out[key] = rewriteRefs(value, rewrite, key);
  }
  return out;
}

/** A name as a JSON Pointer token inside a URI fragment, the way Zod and zod-to-json-schema write it. */
function escapePointer(name: string): string {
  return name.replace(/~/g, "~0").replace(/\//g, "~1");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
