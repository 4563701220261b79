/**
 * Codegen for streaming methods (issue 23): the golden output of `test/fixtures/codegen-streams`
 * (`counter.count` and `counter.tail` stream, `counter.reset` does not), the committed robot_arm
 * stream, and the contract mistakes codegen refuses: unknown keys, bad `yields`, a stray idle timeout.
 * The types are proven in `test/types/streams.test-d.ts`.
 */
import { Parser } from "@asyncapi/parser";
import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ContractsError, loadContracts } from "../codegen/load-contracts.js";
import { runCodegen, type CodegenResult } from "../codegen/run.js";
import { codegenCommand } from "../src/cli/commands/codegen.js";
import { repoRoot as repoRootWithSlash } from "./helpers/child-process.js";
import { recordingIo } from "./helpers/recording-io.js";

const repoRoot = resolve(repoRootWithSlash);
const GOLDEN = "test/fixtures/codegen-streams";
const REGENERATE = `npm run codegen -- --contracts ${GOLDEN}/contracts --out ${GOLDEN}/generated`;

describe("the golden streaming contract", () => {
  let result: CodegenResult;
  const file = (name: string) => result.files.find((f) => f.path === `${GOLDEN}/generated/${name}`)!.content;

  beforeAll(async () => {
    result = await runCodegen({ root: repoRoot, contractsDir: `${GOLDEN}/contracts`, outDir: `${GOLDEN}/generated`, check: true });
  });

  it(`generates exactly what is committed in ${GOLDEN}/generated (regenerate: ${REGENERATE})`, () => {
    expect(result.updated).toEqual([]);
    expect(result.files.map((f) => f.path).sort()).toEqual(["asyncapi.json", "counter.schema.json", "counter.ts", "index.ts"].map((f) => `${GOLDEN}/generated/${f}`));
  });

  it("declares the item type, printed by the compiler like params and results", () => {
    const code = file("counter.ts");
    expect(code).toContain(
      "/** Each item `counter.count` streams, as its handler yields it and callers receive it. */\nexport interface CounterCountItem {\n  i: number;\n}\n",
    );
    expect(code).toContain("export type CounterTailItem = string;\n");
    // The output side: what the handler yields (encoded for the wire) and what the caller gets back, decoded.
    expect(code).toContain("export interface CounterTicksItem {\n  n: number;\n  at: Date;\n}\n");
    expect(code).toContain('import type { CallOptions, CallStream, Communicator, HandlerContext, RegisterServiceOptions, StreamCallOptions } from "mqtt-contracts";');
  });

  it("types a streaming handler as an async generator of items that returns the result", () => {
    const code = file("counter.ts");
    expect(code).toContain("  count(params: CounterCountParams, context: HandlerContext): AsyncGenerator<CounterCountItem, CounterCountResult, undefined>;\n");
    expect(code).toContain("  tail(params: CounterTailParams, context: HandlerContext): AsyncGenerator<CounterTailItem, CounterTailResult, undefined>;\n");
    // A plain method beside them is as before.
    expect(code).toContain("  reset(params: CounterResetParams, context: HandlerContext): CounterResetResult | Promise<CounterResetResult>;\n");
  });

  it("gives the client a method that returns the CallStream of ServiceClient.stream, taking the params' input type", () => {
    const code = file("counter.ts");
    expect(code).toContain(
      [
        "  count(params: CounterCountParams, options?: StreamCallOptions): CallStream<CounterCountItem, CounterCountResult> {",
        '    return this.client.stream("count", params, options) as CallStream<CounterCountItem, CounterCountResult>;',
        "  }",
      ].join("\n"),
    );
    expect(code).toContain("  tail(params: CounterTailParamsInput, options?: StreamCallOptions): CallStream<CounterTailItem, CounterTailResult> {\n");
    expect(code).toContain('    return this.client.call("reset", params, options) as Promise<CounterResetResult>;\n');
    expect(code).toContain("   * Default idle timeout: 5000 ms without an item.\n");
    expect(code).toContain("   * Default timeout: 60000 ms for the whole stream.\n");
  });

  it("puts the items' JSON Schema between the method's params and result", () => {
    const schema = JSON.parse(file("counter.schema.json")) as { definitions: Record<string, unknown> };
    expect(Object.keys(schema.definitions)).toEqual([
      "CounterCountParams",
      "CounterCountItem",
      "CounterCountResult",
      "CounterTailParams",
      "CounterTailItem",
      "CounterTailResult",
      "CounterTicksParams",
      "CounterTicksItem",
      "CounterTicksResult",
      "CounterResetParams",
      "CounterResetResult",
    ]);
    expect(schema.definitions.CounterCountItem).toEqual({
      type: "object",
      properties: { i: { type: "integer", minimum: -9007199254740991, maximum: 9007199254740991 } },
      required: ["i"],
    });
    expect(schema.definitions.CounterTailItem).toEqual({ type: "string", description: "One line of the log" });
    // The wire side of the codec.
    expect(schema.definitions.CounterTicksItem).toMatchObject({ properties: { at: { type: "string", format: "date-time" } } });
  });

  it("describes the items message in AsyncAPI and marks the streaming operations", async () => {
    const doc = JSON.parse(file("asyncapi.json"));
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
    expect(diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code} at ${d.path.join(".")}: ${d.message}`)).toEqual([]);

    expect(doc.components.messages["counter.count.item"]).toMatchObject({
      name: "counter.count.item",
      correlationId: { location: "$message.payload#/params/id" },
      payload: {
        type: "object",
        required: ["jsonrpc", "method", "params"],
        properties: {
          jsonrpc: { const: "2.0" },
          method: { type: "string", const: "rpc.item" },
          params: {
            type: "object",
            required: ["id", "seq", "item"],
            properties: {
              id: { type: ["string", "number"] },
              seq: { type: "integer", minimum: 0 },
              item: { type: "object", properties: { i: { type: "integer" } }, required: ["i"] },
            },
          },
        },
      },
    });
    expect(doc.components.messages["counter.tail.item"].payload.properties.params.properties.item).toEqual({ type: "string", description: "One line of the log" });
    expect(doc.components.messages["counter.reset.item"]).toBeUndefined();

    expect(doc.operations["counter.count"]["x-stream"]).toBe(true);
    expect(doc.operations["counter.tail"]["x-stream"]).toBe(true);
    expect(doc.operations["counter.reset"]).not.toHaveProperty("x-stream");
    expect(doc.operations["counter.count"].description).toContain('Streams: before the result, the server publishes each item as a "rpc.item" notification');

    const replies = (id: string) => document!.operations().get(id)!.reply()!.messages().all().map((m) => m.id());
    expect(replies("counter.count")).toEqual(["count.item", "count.result", "count.error"]);
    expect(replies("counter.reset")).toEqual(["reset.result", "reset.error"]);
    expect(document!.channels().get("counter.response")!.messages().all().map((m) => m.id())).toEqual([
      "count.item",
      "count.result",
      "count.error",
      "tail.item",
      "tail.result",
      "tail.error",
      "ticks.item",
      "ticks.result",
      "ticks.error",
      "reset.result",
      "reset.error",
    ]);
  });
});

describe("the committed robot_arm contract", () => {
  it("streams move_with_feedback: its item type, items message and x-stream are in generated/", async () => {
    const code = await readFile(join(repoRoot, "generated/robot_arm.ts"), "utf8");
    expect(code).toContain("move_with_feedback(params: RobotArmMoveWithFeedbackParamsInput, options?: StreamCallOptions): CallStream<RobotArmMoveWithFeedbackItem, RobotArmMoveWithFeedbackResult> {");
    expect(code).toContain("move_with_feedback(params: RobotArmMoveWithFeedbackParams, context: HandlerContext): AsyncGenerator<RobotArmMoveWithFeedbackItem, RobotArmMoveWithFeedbackResult, undefined>;");
    const doc = JSON.parse(await readFile(join(repoRoot, "generated/asyncapi.json"), "utf8"));
    expect(doc.operations["robot_arm.move_with_feedback"]["x-stream"]).toBe(true);
    expect(doc.components.messages["robot_arm.move_with_feedback.item"].payload.properties.params.properties.item.required).toEqual(["x", "y", "progress"]);
    expect(doc.operations["robot_arm.move_to"]).not.toHaveProperty("x-stream");
  });
});

describe("contract mistakes", () => {
  const fixtures = join(repoRoot, "test/fixtures/bad-contracts");

  it("a key a service, method, notification or error does not know: exit 1, each named with file, service, member and key, no stack trace, nothing written", async () => {
    const root = join(fixtures, "unknown-keys");
    const io = recordingIo(root);
    const code = await codegenCommand([], io);
    expect(io.stderr).toMatchInlineSnapshot(`
      "codegen: 5 problems in contracts:
        contracts/gripper.ts: service "gripper", field descripton: unknown key "descripton" (did you mean "description"?): a service has only name, description, version, methods and notifications
        contracts/gripper.ts: service "gripper", method "close", field timeoutMS: unknown key "timeoutMS" (did you mean "timeoutMs"?): a method has only description, params, result, yields, timeoutMs, idleTimeoutMs and errors
        contracts/gripper.ts: service "gripper", method "close", field errors.Jammed.message: unknown key "message": an error has only code, description and data
        contracts/gripper.ts: service "gripper", method "watch", field yield: unknown key "yield" (did you mean "yields"?): a method has only description, params, result, yields, timeoutMs, idleTimeoutMs and errors
        contracts/gripper.ts: service "gripper", notification "dropped", field deliver: unknown key "deliver" (did you mean "delivery"?): a notification has only description, params and delivery
      codegen: nothing was written.
      "
    `);
    expect(io.stderr).not.toMatch(/^\s+at /m);
    expect(io.stdout).toBe("");
    expect(code).toBe(1);
    expect(await readdir(root)).toEqual(["contracts"]);
  });

  it("yields that JSON cannot carry or that is not a schema, and an idle timeout that is not positive or on a method that does not stream", async () => {
    const root = join(fixtures, "bad-streams");
    const error = await loadContracts({ root, contractsDir: join(root, "contracts") }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ContractsError);
    expect((error as ContractsError).problems.map(String)).toMatchInlineSnapshot(`
      [
        "contracts/camera.ts: service "camera", method "frames", field yields.at: a Date cannot be carried by JSON (declare an encoding, e.g. z.iso.datetime() or a z.codec() from a JSON type)",
        "contracts/camera.ts: service "camera", method "frames", field idleTimeoutMs: idleTimeoutMs must be a positive number, got -1",
        "contracts/camera.ts: service "camera", method "histogram", field yields: is the function z.number, not a schema: call it, z.number()",
        "contracts/camera.ts: service "camera", method "snapshot", field idleTimeoutMs: idleTimeoutMs applies to a method that streams, and this one declares no yields",
      ]
    `);
    expect(await readdir(root)).toEqual(["contracts"]);
  });
});
