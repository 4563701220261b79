/**
 * OpenMAS's built-in MQTT communicator format against a Python agent that speaks it
 * (test/fixtures/openmas-agent/agent.py, paho-mqtt only), both ways, on the embedded broker and on Mosquitto.
 */
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MethodNotFoundError, MqttCommunicator, RequestTimeoutError, RpcError } from "mqtt-contracts";
import { ExampleServiceClient, registerExampleService } from "../generated/index.js";
import { tcpBrokers, type TcpBroker } from "./helpers/brokers.js";
import { Children } from "./helpers/child-process.js";
import { started } from "./helpers/communicators.js";
import { python, PythonAgent, requirePaho, WAIT_MS } from "./helpers/python-agent.js";
import { recordingLogger } from "./helpers/recording-logger.js";

const SERVICE_SCRIPT = "test/fixtures/python-service/service.py";

const children = new Children();

beforeAll(requirePaho);

afterEach(() => children.killAll());
afterAll(() => PythonAgent.killAll());

describe.each(tcpBrokers)("OpenMAS's built-in MQTT format with a Python agent, via %s", (_name, startBrokerUnderTest) => {
  let broker: TcpBroker;
  /** Serves in the OpenMAS format (and JSON-RPC) as ts_agent. */
  let server: MqttCommunicator;
  const serverLogger = recordingLogger();
  /** Calls py_agent in the OpenMAS format. */
  let client: MqttCommunicator;
  let py: PythonAgent;

  /** `log` notifications the TS server received, and whoever waits for the next one. */
  const logged: unknown[] = [];
  let onLogged: (() => void) | undefined;
  const nextLog = (count: number) =>
    new Promise<unknown>((resolve) => {
      const check = () => {
        if (logged.length >= count) {
          onLogged = undefined;
          resolve(logged[count - 1]);
        }
      };
      onLogged = check;
      check();
    });

  beforeAll(async () => {
    broker = await startBrokerUnderTest();
    const host = new URL(broker.url).hostname;

    server = new MqttCommunicator({ agentName: "ts_agent", options: { url: broker.url, wireFormat: "openmas" }, logger: serverLogger });
    registerExampleService(server, {
      get_status: () => ({ status: "running", agent_name: "ts_agent" }),
      echo: ({ message }) => ({ original: message, echo: message }),
      log: (params) => {
        logged.push(params);
        onLogged?.();
      },
    });
    server.registerHandler("fail", () => {
      throw new TypeError("nope");
    });
    // Ends early when the communicator stops (context.signal), so stop() does not wait for it.
    server.registerHandler<{ ms: number }>("slow", async ({ ms }, context) => {
      await delay(ms, undefined, { signal: context.signal });
      return { slept: ms };
    });
    await server.start();

    client = new MqttCommunicator({
      agentName: "ts_caller",
      serviceUrls: { py_agent: "unused" },
      options: { url: broker.url, serviceWireFormats: { py_agent: "openmas" } },
      logger: recordingLogger(),
    });
    await client.start();

    py = await PythonAgent.start(host, broker.port, "py_agent");
  });

  afterAll(async () => {
    await py?.stop();
    await client?.stop();
    await server?.stop();
    await broker?.close();
  });

  describe("Python calls a TypeScript agent served with wireFormat: openmas", () => {
    it("echo returns the contract's result", async () => {
      const answer = await py.call("ts_agent", "echo", { message: "hi" });
      expect(answer).toEqual({ tag: answer.tag, result: { original: "hi", echo: "hi" } });
    });

    it("an unknown method raises MethodNotFoundError from a 404 answer", async () => {
      const answer = await py.call("ts_agent", "no_such_method", {});
      expect(answer.raised).toBe("MethodNotFoundError");
      expect(answer.error).toMatchObject({ code: 404, details: "MethodNotFoundError" });
      expect(answer.error!.message).toContain("no_such_method");
    });

    it("params the contract refuses raise CommunicationError from a 422 ValidationError answer", async () => {
      const answer = await py.call("ts_agent", "echo", { message: 5 });
      expect(answer.raised).toBe("CommunicationError");
      expect(answer.error).toMatchObject({ code: 422, details: "ValidationError" });
      expect(answer.error!.message).toMatch(/message/);
      expect(answer.details).toMatchObject({ method: "echo", error_code: 422, error_details: "ValidationError" });
    });

    it("a handler that throws raises CommunicationError from a 500 answer naming the JS error class", async () => {
      const answer = await py.call("ts_agent", "fail", {});
      expect(answer.raised).toBe("CommunicationError");
      expect(answer.error).toMatchObject({ code: 500, message: "nope", details: "TypeError" });
      expect(answer.message).toBe("Error from service 'ts_agent': nope");
    });

    it("a log notification reaches the contract's handler with its params", async () => {
      const received = nextLog(logged.length + 1);
      const sent = await py.command({ op: "notify", target: "ts_agent", method: "log", params: { message: "from Python" } });
      expect(sent.sent).toBe(true);
      await expect(received).resolves.toEqual({ message: "from Python" });
    });

    it("hostile raw payloads are dropped or answered as errors, and the server keeps serving", async () => {
      const since = py.stderrLines.length;
      const raw = (topic: string, payload: string) => py.command({ op: "raw", topic, payload });
      expect((await raw("openmas/ts_agent/request/echo", "not JSON {")).sent).toBe(true);
      await raw("openmas/ts_agent/request/echo", JSON.stringify({ id: "a/b", source: "py_agent", params: { message: "x" } }));
      await raw("openmas/ts_agent/request/echo", JSON.stringify({ id: "raw-1", source: "+", params: { message: "x" } }));
      await raw("openmas/ts_agent/notification/log", JSON.stringify({ params: "not an object" }));
      // Answerable, but its params are no object: the error answer reaches py_agent, which waits for no such id.
      await raw("openmas/ts_agent/request/echo", JSON.stringify({ id: "raw-2", source: "py_agent", params: [1] }));
      await py.waitForLine("stderr", (line) => line === "late-response raw-2", since);

      const later = await py.call("ts_agent", "echo", { message: "after the garbage" });
      expect(later.result).toEqual({ original: "after the garbage", echo: "after the garbage" });
      expect(serverLogger.lines.filter((line) => line.level === "error")).toEqual([]);
      expect(serverLogger.find("warn", /OpenMAS/)).toBeDefined();
    });

    it("a Python-side timeout on a slow handler raises RequestTimeoutError; the late answer still comes and the server keeps serving", async () => {
      const since = py.stderrLines.length;
      const answer = await py.call("ts_agent", "slow", { ms: 3000 }, 0.5);
      expect(answer).toMatchObject({ raised: "RequestTimeoutError", error: null, details: { method: "slow" } });
      const requestId = answer.details!.request_id as string;
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);

      // The handler ran to the end (OpenMAS sends no deadline) and answered a caller that gave up.
      await py.waitForLine("stderr", (line) => line === `late-response ${requestId}`, since);

      const later = await py.call("ts_agent", "echo", { message: "still there" });
      expect(later.result).toEqual({ original: "still there", echo: "still there" });
      expect(serverLogger.lines.filter((line) => line.level === "error")).toEqual([]);
    });
  });

  describe("TypeScript calls the Python agent with serviceWireFormats: { py_agent: openmas }", () => {
    it("echo through the generated client", async () => {
      await expect(new ExampleServiceClient(client, "py_agent").echo({ message: "hi" })).resolves.toEqual({ original: "hi", echo: "hi" });
    });

    it("an unknown method rejects with MethodNotFoundError carrying OpenMAS's details", async () => {
      const error = await client.sendRequest("py_agent", "nope", {}).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MethodNotFoundError);
      expect(error).toMatchObject({ code: -32601, data: "MethodNotFoundError" });
      expect((error as MethodNotFoundError).message).toContain("nope");
    });

    it("a Python exception rejects with RpcError naming its class", async () => {
      const error = await client.sendRequest("py_agent", "fail", { message: "python says no" }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RpcError);
      expect(error).toMatchObject({ data: "ValueError" });
      expect((error as RpcError).message).toContain("python says no");
    });

    it("wrong keyword arguments reach Python as a TypeError, as OpenMAS's handler(**params) raises", async () => {
      const error = await client.sendRequest("py_agent", "add", { a: 1, c: 2 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RpcError);
      expect(error).toMatchObject({ data: "TypeError" });
      await expect(client.sendRequest("py_agent", "add", { a: 2, b: 3 })).resolves.toEqual({ sum: 5 });
    });

    it("a notification runs the Python log handler", async () => {
      const since = py.stdoutLines.length;
      await client.sendNotification("py_agent", "log", { message: "x" });
      await py.waitForLine("stdout", /^notification log \{"message": ?"x"\}$/, since);
    });

    it("no answer within timeoutMs rejects with RequestTimeoutError, and the client goes on", async () => {
      const error = await client.sendRequest("py_agent", "slow", { ms: 3000 }, { timeoutMs: 300 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RequestTimeoutError);
      expect((error as RequestTimeoutError).timeoutMs).toBe(300);
      await expect(client.sendRequest("py_agent", "echo", { message: "after" })).resolves.toEqual({ original: "after", echo: "after" });
    });
  });

  it("one TypeScript agent calls a built-in-format peer and a JSON-RPC (example-format) peer side by side", async () => {
    const service = children.start(python, [SERVICE_SCRIPT, new URL(broker.url).hostname, String(broker.port), "py_service"]);
    await service.waitForStdout(/^ready$/m, WAIT_MS);
    const mixed = await started(broker.url, { agentName: "ts_mixed", serviceUrls: { py_agent: "unused", py_service: "py_service" }, options: { serviceWireFormats: { py_agent: "openmas" } } });
    const [fromAgent, fromService] = await Promise.all([
      new ExampleServiceClient(mixed, "py_agent").echo({ message: "to the OpenMAS agent" }),
      new ExampleServiceClient(mixed, "py_service").echo({ message: "to the JSON-RPC service" }),
    ]);
    expect(fromAgent).toEqual({ original: "to the OpenMAS agent", echo: "to the OpenMAS agent" });
    expect(fromService).toEqual({ original: "to the JSON-RPC service", echo: "to the JSON-RPC service" });
    service.process.kill("SIGTERM");
    expect((await service.exit()).code).toBe(0);
  });

  // Last: the agent is gone afterwards.
  it("the Python agent disconnects and exits 0 on SIGTERM", async () => {
    await expect(py.stop()).resolves.toEqual({ code: 0, signal: null });
  });
});
