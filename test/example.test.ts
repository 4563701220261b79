import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { Children, within } from "./helpers/child-process.js";
import { startMosquitto, type Mosquitto } from "./helpers/mosquitto.js";
import { python, PythonAgent, requirePaho } from "./helpers/python-agent.js";

const EXAMPLE = "examples/mqtt-example.ts";
const STATUS_LINE = 'get_status -> {"status":"running","agent_name":"mqtt_example_agent"}';
const ECHO_LINE = 'echo -> {"original":"Hello from mqtt-contracts!","echo":"Hello from mqtt-contracts!"}';

describe("the OpenMAS MQTT example", () => {
  const children = new Children();
  let mosquitto: Mosquitto | undefined;

  afterEach(async () => {
    await children.killAll();
    await PythonAgent.killAll();
    await mosquitto?.close();
    mosquitto = undefined;
  });

  it("runs on its embedded broker, prints the get_status and echo results and exits 0", async () => {
    const run = await children.startTs(EXAMPLE, []).exit();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Embedded broker on mqtt:\/\/127\.0\.0\.1:\d+$/m);
    expect(run.stdout).toContain(STATUS_LINE);
    expect(run.stdout).toContain(ECHO_LINE);
    expect(run.stdout).toContain("log notification handled: notification from the example");
    expect(run.stdout).toContain("mqtt_example_agent stopped cleanly");
  });

  it("runs against Mosquitto with --url", async () => {
    mosquitto = await startMosquitto();
    const run = await children.startTs(EXAMPLE, ["--url", mosquitto.url]).exit();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toContain("Embedded broker");
    expect(run.stdout).toContain(STATUS_LINE);
    expect(run.stdout).toContain(ECHO_LINE);
    expect(run.stdout).toContain("mqtt_example_agent stopped cleanly");
  });

  it("with --serve answers a foreign client in the OpenMAS wire format and stops cleanly on SIGTERM", async () => {
    mosquitto = await startMosquitto();
    const example = children.startTs(EXAMPLE, ["--serve", "--url", mosquitto.url]);
    await example.waitForStdout(/serving on/);

    const client = await mqtt.connectAsync(mosquitto.url, { reconnectPeriod: 0 });
    try {
      await client.subscribeAsync("t/response/1", { qos: 1 });
      const response = new Promise<string>((resolve) => client.once("message", (_topic, payload) => resolve(payload.toString("utf8"))));
      await client.publishAsync(
        "mqtt_example_agent/request",
        '{"jsonrpc":"2.0","id":"1","method":"echo","params":{"message":"hi"},"response_topic":"t/response/1"}',
        { qos: 1 },
      );
      expect(await within(response, 10_000, "the response on t/response/1")).toBe('{"jsonrpc":"2.0","id":"1","result":{"original":"hi","echo":"hi"}}');

      // The served contract validates params: a number where the contract says string is -32602.
      await client.subscribeAsync("t/response/2", { qos: 1 });
      const rejected = new Promise<string>((resolve) => client.once("message", (_topic, payload) => resolve(payload.toString("utf8"))));
      await client.publishAsync(
        "mqtt_example_agent/request/echo",
        '{"jsonrpc":"2.0","id":"2","method":"echo","params":{"message":123},"response_topic":"t/response/2"}',
        { qos: 1 },
      );
      const answer = JSON.parse(await within(rejected, 10_000, "the response on t/response/2")) as { id: string; error: { code: number; message: string; data: { issues: { path: string[] }[] } } };
      expect(answer.id).toBe("2");
      expect(answer.error.code).toBe(-32602);
      expect(answer.error.message).toMatch(/^Invalid params for example\.echo: message: /);
      expect(answer.error.data.issues.map((issue) => issue.path)).toEqual([["message"]]);
    } finally {
      await client.endAsync();
    }

    example.process.kill("SIGTERM");
    const stopped = await example.exit();
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toContain("SIGTERM received; stopping");
    expect(stopped.stdout).toContain("mqtt_example_agent stopped cleanly");
  });

  it("runs in OpenMAS's built-in format when COMMUNICATOR_OPTIONS says so", async () => {
    const run = await children.startTs(EXAMPLE, [], { env: { COMMUNICATOR_OPTIONS: '{"wireFormat":"openmas"}' } }).exit();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(STATUS_LINE);
    expect(run.stdout).toContain(ECHO_LINE);
    expect(run.stdout).toContain("log notification handled: notification from the example");
  });

  it("served with wireFormat openmas, answers Python agents on both OpenMAS communicators", async () => {
    requirePaho();
    mosquitto = await startMosquitto();
    const example = children.startTs(EXAMPLE, ["--serve", "--url", mosquitto.url], { env: { COMMUNICATOR_OPTIONS: '{"wireFormat":"openmas"}' } });
    await example.waitForStdout(/serving on .*openmas\/mqtt_example_agent\/request\/#/);

    // The built-in communicator's format: openmas/mqtt_example_agent/request/echo, answered on openmas/py_agent/response/<id>.
    const agent = await PythonAgent.start("127.0.0.1", mosquitto.port, "py_agent");
    try {
      expect(await agent.call("mqtt_example_agent", "echo", { message: "from the built-in communicator" })).toMatchObject({
        result: { original: "from the built-in communicator", echo: "from the built-in communicator" },
      });
      expect(await agent.call("mqtt_example_agent", "echo", { message: 5 })).toMatchObject({ raised: "CommunicationError", error: { code: 422, details: "ValidationError" } });
      expect(await agent.command({ op: "notify", target: "mqtt_example_agent", method: "log", params: { message: "hello from Python" } })).toMatchObject({ sent: true });
      await example.waitForStdout(/log notification handled: hello from Python/);
    } finally {
      await agent.stop();
    }

    // The MQTT example communicator's format: JSON-RPC on mqtt_example_agent/request/echo.
    const jsonRpc = await children.start(python, ["test/fixtures/python-service/call.py", "127.0.0.1", String(mosquitto.port), "mqtt_example_agent", "echo", '{"message":"from the example communicator"}', "20"]).exit();
    expect(jsonRpc.code, jsonRpc.stderr).toBe(0);
    expect(JSON.parse(jsonRpc.stdout)).toMatchObject({ jsonrpc: "2.0", result: { original: "from the example communicator", echo: "from the example communicator" } });

    example.process.kill("SIGTERM");
    expect((await example.exit()).code).toBe(0);
  });
});
