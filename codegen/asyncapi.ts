import { DEFAULT_REQUEST_TIMEOUT_MS } from "../src/communicator/defaults.js";
import { notificationTopic, requestTopic, responseTopic } from "../src/wire/jsonrpc/topics.js";
import { errorMessage, ITEM_METHOD, itemMessage, MQTT_BINDING_VERSION, notificationMessage, requestMessage, resultMessage, sharedComponents, texts } from "./asyncapi-messages.js";
import type { ContractModel, JsonSchema, ServiceModel } from "./model.js";

/**
 * The AsyncAPI 3.0.0 document of every service in the model, from the server's point of view: a
 * service receives requests and notifications and sends replies. Pure and deterministic: the same
 * model gives the same document, key for key.
 *
 * Keys: channels `S.request.m`, `S.response`, `S.notification.n`; operations `S.m` and `S.n`
 * (a name is never both a method and a notification); messages `S.m.request`, `S.m.result`,
 * `S.m.error`, `S.m.item` (a method that streams; its operation says `x-stream: true`), `S.n.notification`. Model schemas are inlined; their `definitions` (recursive or
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
      if (method.yields) messages[`${S}.${m}.item`] = itemMessage(S, { ...method, yields: method.yields }, schemas);
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
        ...texts(method.yields ? [method.description, streamText(S, m)].filter(Boolean).join("\n\n") : method.description),
        ...(method.yields ? { "x-stream": true } : {}),
        tags: tagRefs,
        messages: [{ $ref: `#/channels/${channel}/messages/request` }],
        reply: {
          address: {
            location: "$message.payload#/response_topic",
            description: "The request's response_topic; the MQTT 5 Response Topic property takes precedence when present.",
          },
          channel: { $ref: `#/channels/${S}.response` },
          messages: [
            ...(method.yields ? [{ $ref: `#/channels/${S}.response/messages/${m}.item` }] : []),
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
          `Responses of ${S}, one per request${service.methods.some((method) => method.yields) ? ", after the items of a streaming call" : ""}. In practice a response is published to exactly the request's ` +
          "response_topic (or its MQTT 5 Response Topic property); clients of this package use " +
          "<own prefix>/response/<clientId>, one topic per communicator, and correlate by id.",
        messages: Object.fromEntries(
          service.methods.flatMap((method) => [
            ...(method.yields ? [[`${method.name}.item`, { $ref: `#/components/messages/${S}.${method.name}.item` }] as const] : []),
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

  // What every method's messages refer to, once methods exist; the model's own schemas after it.
  const shared = model.services.some((service) => service.methods.length > 0) ? sharedComponents() : undefined;
  const componentSchemas = { ...shared?.schemas, ...schemas };
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
      ...(Object.keys(componentSchemas).length > 0 ? { schemas: componentSchemas } : {}),
      messages,
      ...(shared ? { correlationIds: shared.correlationIds, messageBindings: shared.messageBindings } : {}),
      tags,
    },
  };
}

/** The line a streaming method's operation adds to its description. */
function streamText(S: string, m: string): string {
  return `Streams: before the result, the server publishes each item as a ${JSON.stringify(ITEM_METHOD)} notification to the response topic (message ${S}.${m}.item). The caller may cancel; the handler is aborted.`;
}

/** A key segment: no dot, since dots separate the segments of our keys. */
const KEY_SEGMENT = /^[A-Za-z0-9_-]+$/;

function checkName(name: string, kind: string): string {
  if (!KEY_SEGMENT.test(name)) throw new Error(`AsyncAPI: ${kind} name ${JSON.stringify(name)} must match ${KEY_SEGMENT}`);
  return name;
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
