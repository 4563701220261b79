/**
 * The AsyncAPI messages of one method or notification (request, result, error, notification), with
 * their MQTT bindings. Their payload schemas are embedded with `embedSchema`, whose definitions land in
 * the `schemas` passed along (the document's `components.schemas`).
 */
import { ErrorCode } from "../src/errors/codes.js";
import { ITEM } from "../src/wire/jsonrpc/streams.js";
import { embedSchema } from "./asyncapi-schemas.js";
import type { ErrorModel, JsonSchema, MethodModel, NotificationModel, SchemaModel } from "./model.js";

export const MQTT_BINDING_VERSION = "0.2.0";

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

/** References to what `sharedComponents` defines once. */
const CORRELATION_ID = { $ref: "#/components/correlationIds/jsonRpcId" } as const;
const REQUEST_BINDINGS = { $ref: "#/components/messageBindings/request" } as const;
const RESPONSE_BINDINGS = { $ref: "#/components/messageBindings/response" } as const;

/** The member of a streaming call's request that asks for a stream (see the guide's wire protocol). */
const STREAM_MEMBER = {
  type: "object",
  required: ["credit", "idleMs"],
  description:
    "Asks for a stream: the server sends at most `credit` items before the caller grants more (rpc.credit to <prefix>/notification), and aborts the handler when it hears nothing from the caller for idleMs. Without it, a streaming method answers -32600.",
  properties: {
    credit: { type: "integer", minimum: 1, maximum: 65535 },
    idleMs: { type: "number", minimum: 1 },
  },
} as const;

export function requestMessage(S: string, method: MethodModel, schemas: Record<string, JsonSchema>): Record<string, unknown> {
  return {
    name: `${S}.${method.name}.request`,
    title: `${S}.${method.name} request`,
    ...texts(method.description),
    correlationId: CORRELATION_ID,
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
        ...(method.yields === undefined ? {} : { stream: STREAM_MEMBER }),
      },
    },
    bindings: REQUEST_BINDINGS,
  };
}

export function resultMessage(S: string, method: MethodModel, schemas: Record<string, JsonSchema>): Record<string, unknown> {
  return {
    name: `${S}.${method.name}.result`,
    title: `${S}.${method.name} result`,
    summary: `The successful response to ${S}.${method.name}.`,
    correlationId: CORRELATION_ID,
    payload: {
      type: "object",
      required: ["jsonrpc", "id", "result"],
      properties: {
        jsonrpc: JSONRPC,
        id: { type: ["string", "number"], description: "The id of the request." },
        result: embedSchema(method.result.jsonSchema, `${S}.${method.name}.result`, schemas),
        ...(method.yields === undefined ? {} : { items: { type: "integer", minimum: 0, description: "How many items the stream sent before this answer; fewer arrived means one was lost." } }),
      },
    },
    bindings: RESPONSE_BINDINGS,
  };
}

/** The JSON-RPC method of the notifications that carry a stream's items to the caller: the runtime's own constant. */
export const ITEM_METHOD = ITEM;

/** One item of a streaming method, sent to the caller's response topic before the result. */
export function itemMessage(S: string, method: MethodModel & { yields: SchemaModel }, schemas: Record<string, JsonSchema>): Record<string, unknown> {
  return {
    name: `${S}.${method.name}.item`,
    title: `${S}.${method.name} item`,
    summary: `One item streamed by ${S}.${method.name}, before its result.`,
    description:
      `${S}.${method.name} streams: for each item its handler yields, the server publishes a JSON-RPC notification ` +
      `${JSON.stringify(ITEM_METHOD)} to the request's response topic, carrying the request's id and the item's sequence number; ` +
      "the result (or error) response follows the last item. A caller may cancel the call, which aborts the handler.",
    correlationId: { description: "The id of the request whose stream this item belongs to.", location: "$message.payload#/params/id" },
    payload: {
      type: "object",
      required: ["jsonrpc", "method", "params"],
      properties: {
        jsonrpc: JSONRPC,
        method: { type: "string", const: ITEM_METHOD },
        params: {
          type: "object",
          required: ["id", "seq", "item"],
          properties: {
            id: { type: ["string", "number"], description: "The id of the request." },
            seq: { type: "integer", minimum: 0, description: "The item's place in the stream: 0, 1, 2, … in the order the handler yielded them." },
            item: embedSchema(method.yields.jsonSchema, `${S}.${method.name}.item`, schemas),
          },
        },
      },
    },
  };
}

export function errorMessage(S: string, method: MethodModel, schemas: Record<string, JsonSchema>): Record<string, unknown> {
  const standard = { $ref: `#/components/schemas/${JSON_RPC_ERROR}` };
  const declared = method.errors.map((error) => declaredError(S, method, error, schemas));
  return {
    name: `${S}.${method.name}.error`,
    title: `${S}.${method.name} error`,
    summary: `The error response to ${S}.${method.name}.`,
    description:
      declared.length > 0
        ? `One of the application errors declared by ${S}.${method.name} (${method.errors.map((e) => `${e.name} ${e.code}`).join(", ")}), or a JSON-RPC error.`
        : "A JSON-RPC error.",
    correlationId: CORRELATION_ID,
    payload: {
      type: "object",
      required: ["jsonrpc", "id", "error"],
      properties: {
        jsonrpc: JSONRPC,
        id: { type: ["string", "number", "null"], description: "The id of the request; null if it could not be read." },
        error: declared.length > 0 ? { oneOf: [...declared, standard] } : standard,
      },
    },
    bindings: RESPONSE_BINDINGS,
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

export function notificationMessage(S: string, notification: NotificationModel, schemas: Record<string, JsonSchema>): Record<string, unknown> {
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

/** The key of the standard JSON-RPC error's schema in `components.schemas`: no dot, so no model schema's key. */
export const JSON_RPC_ERROR = "JsonRpcError";

/**
 * What every method's messages share, defined once in `components` and referenced from each message:
 * repeated in each, they were most of a large document (22 MB at 100 services × 20 methods).
 */
export function sharedComponents(): { schemas: Record<string, JsonSchema>; correlationIds: Record<string, unknown>; messageBindings: Record<string, unknown> } {
  return {
    schemas: {
      [JSON_RPC_ERROR]: {
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
      },
    },
    correlationIds: {
      jsonRpcId: { description: "The JSON-RPC id: a response carries the id of its request.", location: "$message.payload#/id" },
    },
    messageBindings: {
      request: {
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
      response: {
        mqtt: {
          correlationData: {
            type: "string",
            description: "MQTT 5 Correlation Data property, echoed from the request when it had one.",
          },
          bindingVersion: MQTT_BINDING_VERSION,
        },
      },
    },
  };
}

/** `summary` is the first line of a description, `description` all of it. */
export function texts(description: string | undefined): { summary?: string; description?: string } {
  if (description === undefined || description.trim() === "") return {};
  return { summary: description.trim().split("\n")[0]!.trim(), description };
}
