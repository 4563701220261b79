import { Parser, type AsyncAPIDocumentInterface, type Diagnostic } from "@asyncapi/parser";
import { describe, expect, it } from "vitest";
import { buildAsyncApi } from "../codegen/asyncapi.js";
import type { ContractModel, JsonSchema, SchemaModel } from "../codegen/model.js";

function schema(jsonSchema: JsonSchema): SchemaModel {
  return { zod: 4, jsonSchema, type: "unknown" };
}

const pose = {
  type: "object",
  properties: { x: { type: "number", description: "metres" }, y: { type: "number" }, theta: { type: "number" } },
  required: ["x", "y"],
  additionalProperties: false,
};

/** Two services; `arm` has a multi-paragraph description, nested objects, enums, a declared error and a recursive schema. */
const model: ContractModel = {
  services: [
    {
      name: "arm",
      description: "Controls the robot arm.\n\nMoves happen one at a time:\n- a move is refused while another runs\n- stop always wins",
      version: "2.1.0",
      file: "contracts/arm.ts",
      exportName: "ArmService",
      methods: [
        {
          name: "move",
          description: "Move the gripper to a pose.\nRefused while the gripper is closed.",
          timeoutMs: 2_500,
          params: schema({
            type: "object",
            properties: {
              goal: { ...pose, description: "where to go" },
              mode: { type: "string", enum: ["fast", "safe"], default: "safe" },
              waypoints: { type: "array", items: pose },
            },
            required: ["goal", "waypoints"],
            additionalProperties: false,
          }),
          result: schema({
            type: "array",
            items: { type: "object", properties: { step: { type: "integer" }, at: pose }, required: ["step", "at"], additionalProperties: false },
          }),
          errors: [
            {
              name: "GripperClosed",
              code: 1001,
              description: "The gripper is closed.",
              data: schema({ type: "object", properties: { since: { type: "string" } }, required: ["since"], additionalProperties: false }),
            },
            { name: "Busy", code: 1002 },
          ],
        },
        {
          name: "plan",
          params: schema({
            type: "object",
            properties: { tree: { $ref: "#/definitions/__schema0" }, id: { $ref: "#/definitions/Ident" } },
            required: ["tree", "id"],
            definitions: {
              __schema0: {
                type: "object",
                properties: { v: { type: "number" }, kids: { type: "array", items: { $ref: "#/definitions/__schema0" } } },
                required: ["v", "kids"],
              },
              Ident: { type: "string" },
            },
          }),
          // A recursive root: `#` means this schema, not the document.
          result: schema({ type: "object", properties: { step: { type: "string" }, next: { anyOf: [{ $ref: "#" }, { type: "null" }] } }, required: ["step"] }),
          errors: [],
        },
      ],
      notifications: [
        {
          name: "stopped",
          description: "The arm stopped.",
          params: schema({ type: "object", properties: { reason: { type: "string", enum: ["done", "estop"] } }, required: ["reason"] }),
        },
      ],
    },
    {
      name: "example",
      description: "The OpenMAS MQTT example agent.",
      version: "1.0.0",
      file: "contracts/example.ts",
      exportName: "ExampleService",
      methods: [
        {
          name: "echo",
          description: "Send a message back unchanged.",
          params: schema({ type: "object", properties: { message: { type: "string" } }, required: ["message"], additionalProperties: false }),
          result: schema({
            type: "object",
            properties: { original: { type: "string" }, echo: { type: "string" } },
            required: ["original", "echo"],
            additionalProperties: false,
          }),
          errors: [],
        },
      ],
      notifications: [
        { name: "log", params: schema({ type: "object", properties: { message: { type: "string" } }, required: ["message"] }) },
      ],
    },
  ],
};

async function parse(doc: Record<string, unknown>): Promise<{ document: AsyncAPIDocumentInterface; diagnostics: Diagnostic[] }> {
  const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
  const errors = diagnostics.filter((d) => d.severity === 0);
  expect(errors, format(errors)).toEqual([]);
  expect(document).toBeDefined();
  return { document: document!, diagnostics };
}

function format(diagnostics: Diagnostic[]): string {
  return diagnostics.map((d) => `[${d.severity}] ${d.code} at ${d.path.join(".")}: ${d.message}`).join("\n");
}

describe("buildAsyncApi", () => {
  it("produces a valid AsyncAPI 3.0.0 document without warnings", async () => {
    const { diagnostics } = await parse(buildAsyncApi(model));
    const warnings = diagnostics.filter((d) => d.severity === 1);
    expect(warnings, format(warnings)).toEqual([]);
  });

  it("describes every channel, operation and message of both services", async () => {
    const { document } = await parse(buildAsyncApi(model));
    expect(document.version()).toBe("3.0.0");
    expect(document.defaultContentType()).toBe("application/json");
    expect(document.info().title()).toBe("mqtt-contracts services");
    expect(document.info().version()).toBe("1.0.0"); // the services' versions differ
    // A multi-line service description stays inside its list item.
    expect(document.info().description()).toContain(
      "- **arm** 2.1.0: Controls the robot arm.\n\n  Moves happen one at a time:\n  - a move is refused while another runs\n  - stop always wins\n- **example** 1.0.0: ",
    );

    const addresses = Object.fromEntries(document.channels().all().map((c) => [c.id(), c.address()]));
    expect(addresses).toEqual({
      "arm.request.move": "{prefix}/request/move",
      "arm.request.plan": "{prefix}/request/plan",
      "arm.response": "{prefix}/response/{clientId}",
      "arm.notification.stopped": "{prefix}/notification/stopped",
      "example.request.echo": "{prefix}/request/echo",
      "example.response": "{prefix}/response/{clientId}",
      "example.notification.log": "{prefix}/notification/log",
    });
    expect(document.channels().get("arm.request.move")!.parameters().get("prefix")!.description()).toBe(
      "Topic prefix of service arm: its serviceUrls value (the server's own topicPrefix).",
    );
    expect(document.channels().get("arm.response")!.parameters().all().map((p) => p.id())).toEqual(["prefix", "clientId"]);
    expect(document.channels().get("arm.response")!.messages().all().map((m) => m.id())).toEqual([
      "move.result",
      "move.error",
      "plan.result",
      "plan.error",
    ]);

    expect(document.operations().all().map((o) => o.id())).toEqual(["arm.move", "arm.plan", "arm.stopped", "example.echo", "example.log"]);
    for (const operation of document.operations().all()) expect(operation.isReceive()).toBe(true);
    for (const id of ["arm.move", "arm.plan", "example.echo"]) {
      const operation = document.operations().get(id)!;
      const reply = operation.reply();
      expect(reply, id).toBeDefined();
      expect(reply!.address()!.location()).toBe("$message.payload#/response_topic");
      expect(reply!.channel()!.id()).toBe(`${id.split(".")[0]}.response`);
      const method = id.split(".")[1];
      expect(reply!.messages().all().map((m) => m.id())).toEqual([`${method}.result`, `${method}.error`]);
      expect(operation.bindings().get("mqtt")!.value()).toMatchObject({ qos: 1, retain: false });
    }
    expect(document.operations().get("arm.stopped")!.reply()).toBeUndefined();
    // The parser checks that an operation's messages belong to its channel, but not a reply's: check it here.
    for (const operation of Object.values(buildAsyncApi(model).operations as Record<string, any>)) {
      for (const message of operation.messages) expect(message.$ref.startsWith(`${operation.channel.$ref}/messages/`)).toBe(true);
      for (const message of operation.reply?.messages ?? []) expect(message.$ref.startsWith(`${operation.reply.channel.$ref}/messages/`)).toBe(true);
    }
    expect(document.operations().get("arm.move")!.summary()).toBe("Move the gripper to a pose.");
    expect(document.operations().get("arm.move")!.description()).toBe("Move the gripper to a pose.\nRefused while the gripper is closed.");
    expect(document.operations().get("arm.move")!.bindings().get("mqtt")!.value()).toMatchObject({ messageExpiryInterval: { default: 3 } });

    // 3 methods × (request, result, error) + 2 notifications.
    expect(document.components().messages().all().map((m) => m.id())).toEqual([
      "arm.move.request",
      "arm.move.result",
      "arm.move.error",
      "arm.plan.request",
      "arm.plan.result",
      "arm.plan.error",
      "arm.stopped.notification",
      "example.echo.request",
      "example.echo.result",
      "example.echo.error",
      "example.log.notification",
    ]);
  });

  it("carries the JSON-RPC envelopes, the params and result schemas and the declared errors", async () => {
    const { document } = await parse(buildAsyncApi(model));
    const messages = document.components().messages();

    const request = messages.get("arm.move.request")!;
    expect(request.correlationId()!.location()).toBe("$message.payload#/id");
    const payload = request.payload()!;
    expect(payload.required()).toEqual(["jsonrpc", "id", "method", "params"]);
    expect(payload.properties()!.method!.const()).toBe("move");
    expect(payload.properties()!.params!.properties()!.mode!.enum()).toEqual(["fast", "safe"]);
    expect(payload.properties()!.params!.properties()!.goal!.properties()!.x!.description()).toBe("metres");
    expect(payload.properties()!.response_topic!.type()).toBe("string");
    const binding = request.bindings().get("mqtt")!;
    expect(binding.version()).toBe("0.2.0");
    expect(Object.keys(binding.value())).toEqual(["responseTopic", "correlationData"]);

    const result = messages.get("arm.move.result")!.payload()!;
    expect(result.required()).toEqual(["jsonrpc", "id", "result"]);
    expect(result.properties()!.result!.items()).toMatchObject({});

    const error = messages.get("arm.move.error")!.payload()!.properties()!.error!;
    const variants = error.oneOf()!;
    expect(variants.map((v) => v.title())).toEqual(["GripperClosed", "Busy", "JSON-RPC error"]);
    expect(variants[0]!.properties()!.code!.const()).toBe(1001);
    expect(variants[0]!.properties()!.data!.required()).toEqual(["since"]);
    expect(variants[1]!.properties()!.data).toBeUndefined();
    expect(variants[2]!.properties()!.code!.oneOf()!.map((c) => c.const())).toEqual([-32700, -32600, -32601, -32602, -32603, -32000]);
    // Without declared errors, the error is the JSON-RPC error itself.
    expect(messages.get("example.echo.error")!.payload()!.properties()!.error!.title()).toBe("JSON-RPC error");

    const notification = messages.get("arm.stopped.notification")!;
    expect(notification.payload()!.required()).toEqual(["jsonrpc", "method", "params"]);
    expect(notification.payload()!.properties()!.id).toBeUndefined();
    expect(notification.hasCorrelationId()).toBe(false);
  });

  it("moves schema definitions to components.schemas and rewrites their $refs", async () => {
    const doc = buildAsyncApi(model);
    const json = JSON.stringify(doc);
    expect(json).not.toContain("#/definitions/");
    expect(json).not.toContain('"$ref":"#"');
    const components = doc.components as { schemas: Record<string, unknown> };
    expect(Object.keys(components.schemas)).toEqual(["JsonRpcError", "arm.plan.params.__schema0", "arm.plan.params.Ident", "arm.plan.result"]);
    expect(components.schemas["arm.plan.result"]).toMatchObject({
      properties: { next: { anyOf: [{ $ref: "#/components/schemas/arm.plan.result" }, { type: "null" }] } },
    });
    expect(components.schemas["arm.plan.params.__schema0"]).toMatchObject({
      properties: { kids: { items: { $ref: "#/components/schemas/arm.plan.params.__schema0" } } },
    });
    const { document } = await parse(doc);
    const params = document.components().messages().get("arm.plan.request")!.payload()!.properties()!.params!;
    expect(params.properties()!.id!.type()).toBe("string");
    expect(params.properties()!.tree!.required()).toEqual(["v", "kids"]);
    const result = document.components().messages().get("arm.plan.result")!.payload()!.properties()!.result!;
    expect(result.required()).toEqual(["step"]);
  });

  it("defines what every method's messages share once, in components, and refers to it", async () => {
    const json = JSON.stringify(buildAsyncApi(model));
    // The standard error, the response bindings and the correlation id, each written once however many methods.
    expect(json.match(/"title":"JSON-RPC error"/g)).toHaveLength(1);
    expect(json.match(/echoed from the request when it had one/g)).toHaveLength(1);
    expect(json.match(/"location":"\$message.payload#\/id"/g)).toHaveLength(1);
    const { document } = await parse(buildAsyncApi(model));
    const error = document.components().messages().get("arm.move.error")!;
    expect(error.correlationId()!.location()).toBe("$message.payload#/id");
    expect(error.bindings().get("mqtt")!.value()).toMatchObject({ correlationData: { type: "string" } });
    expect(document.components().messages().get("arm.move.request")!.bindings().get("mqtt")!.value()).toMatchObject({ responseTopic: { type: "string" } });
  });

  it("uses the services' version when they all share one", () => {
    const single: ContractModel = { services: [model.services[1]!] };
    expect((buildAsyncApi(single).info as { version: string }).version).toBe("1.0.0");
    const v2: ContractModel = { services: [{ ...model.services[0]!, version: "2.1.0" }] };
    expect((buildAsyncApi(v2).info as { version: string }).version).toBe("2.1.0");
  });

  it("is deterministic", () => {
    const a = buildAsyncApi(model);
    const b = buildAsyncApi(structuredClone(model));
    expect(a).toEqual(b);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it("does not share objects with the model", () => {
    const doc = buildAsyncApi(model);
    const params = ((doc.components as any).messages["arm.move.request"].payload.properties.params) as JsonSchema;
    expect(params).toEqual(model.services[0]!.methods[0]!.params.jsonSchema);
    expect(params).not.toBe(model.services[0]!.methods[0]!.params.jsonSchema);
  });

  it("refuses a name that cannot be a key segment", () => {
    const bad: ContractModel = { services: [{ ...model.services[1]!, name: "a.b" }] };
    expect(() => buildAsyncApi(bad)).toThrow(/service name "a\.b"/);
  });
});
