import { setTimeout as sleep } from "node:timers/promises";
import mqtt from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MqttCommunicator, RpcError, type HandlerContext } from "mqtt-contracts";
import { tcpBrokers, type TcpBroker } from "./helpers/brokers.js";
import { Children, within } from "./helpers/child-process.js";
import { freePort, startMosquitto } from "./helpers/mosquitto.js";
import { python, PythonAgent, requirePaho } from "./helpers/python-agent.js";
import { recordingLogger } from "./helpers/recording-logger.js";

const CLI = "src/cli/main.ts";
const USAGE_EXIT = 64;

const children = new Children();
afterEach(() => children.killAll());

const cli = (...args: string[]) => children.startTs(CLI, args).exit();

describe.each(tcpBrokers)("mqtt-contracts call and notify via %s", (_name, start) => {
  let broker: TcpBroker;
  let server: MqttCommunicator;
  const notifications: unknown[] = [];
  let onNotification: (() => void) | undefined;
  /** Called with the reason when a streaming handler's signal aborts. */
  let onStreamAbort: ((reason: unknown) => void) | undefined;
  const streamAborted = () => new Promise<unknown>((resolve) => (onStreamAbort = resolve));
  const watch = (context: HandlerContext) => context.signal.addEventListener("abort", () => onStreamAbort?.(context.signal.reason), { once: true });

  beforeAll(async () => {
    broker = await start();
    server = new MqttCommunicator({ agentName: "cli_target", options: { url: broker.url }, logger: recordingLogger() });
    server.registerHandler<{ a: number; b: number }>("add", ({ a, b }) => ({ sum: a + b }));
    server.registerHandler("withdraw", () => {
      throw new RpcError(4001, "insufficient funds", { data: { balance: 3 } });
    });
    server.registerHandler("count", async function* ({ n }: { n: number }) {
      for (let i = 0; i < n; i++) yield { i };
      return { total: n };
    });
    server.registerHandler("breaks", async function* () {
      yield { i: 0 };
      yield { i: 1 };
      throw new RpcError(4002, "the arm hit something", { data: { at: 2 } });
    });
    // Yields every 20 ms (or, with `once`, one item and then nothing) until its signal aborts.
    server.registerHandler("ticks", async function* ({ once = false }: { once?: boolean }, context: HandlerContext) {
      watch(context);
      for (let i = 0; !context.signal.aborted; i++) {
        if (!once || i === 0) yield { i };
        await sleep(20, undefined, { signal: context.signal }).catch(() => undefined);
      }
      return { aborted: true };
    });
    server.registerHandler("log", (params) => {
      notifications.push(params);
      onNotification?.();
    });
    await server.start();
  });

  afterAll(async () => {
    await server?.stop();
    await broker?.close();
  });

  it("prints the JSON result on one line and exits 0, quietly", async () => {
    const run = await cli("call", "cli_target", "add", '{"a":2,"b":3}', "--url", broker.url);
    expect(run).toMatchObject({ code: 0, stdout: '{"sum":5}\n', stderr: "" });
  });

  it("shows mqtt.js's own debug log with DEBUG=mqttjs*, which the communicator otherwise skips", async () => {
    const run = await children.startTs(CLI, ["call", "cli_target", "add", '{"a":1,"b":2}', "--url", broker.url], { env: { DEBUG: "mqttjs*" } }).exit();
    expect(run).toMatchObject({ code: 0, stdout: '{"sum":3}\n' });
    expect(run.stderr).toMatch(/mqttjs:client publish :: message/);
  });

  it("never prints a broker URL's password: not with DEBUG=mqttjs*, not at log level debug, not in a usage error", async () => {
    const secret = "s3cr3t-Pa55";
    const withPassword = broker.url.replace("mqtt://", `mqtt://alice:${secret}@`);
    const env = { DEBUG: "mqttjs*", MQTT_CONTRACTS_LOG_LEVEL: "debug" };
    const run = await children.startTs(CLI, ["call", "cli_target", "add", '{"a":1,"b":2}', "--url", withPassword], { env }).exit();
    expect(run).toMatchObject({ code: 0, stdout: '{"sum":3}\n' });
    expect(run.stderr).toMatch(/password: '\*\*\*'/); // mqtt.js printed the CONNECT packet, redacted
    expect(run.stderr).not.toContain(secret);

    const wrongScheme = await children.startTs(CLI, ["call", "cli_target", "add", "--url", `http://alice:${secret}@example.com`], { env }).exit();
    expect(wrongScheme.code).toBe(USAGE_EXIT);
    expect(wrongScheme.stderr).toContain('got "http://alice:***@example.com"');
    expect(`${wrongScheme.stdout}${wrongScheme.stderr}`).not.toContain(secret);
  });

  it("takes the broker from MQTT_URL when there is no --url", async () => {
    const run = await children.startTs(CLI, ["call", "cli_target", "add", '{"a":1,"b":1}'], { env: { MQTT_URL: broker.url } }).exit();
    expect(run).toMatchObject({ code: 0, stdout: '{"sum":2}\n' });
  });

  it("prints the code, message and data of a remote error and exits 1", async () => {
    const run = await cli("call", "cli_target", "withdraw", "{}", "--url", broker.url);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("error 4001: insufficient funds");
    expect(run.stderr).toContain('data: {"balance":3}');
  });

  it("reports an unknown method as -32601 and exits 1", async () => {
    const run = await cli("call", "cli_target", "no_such_method", "--url", broker.url);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error -32601 \(MethodNotFound\): .*no_such_method/);
  });

  it("exits 2 with a message when nobody answers in time", async () => {
    const run = await cli("call", "nobody_here", "ping", "--url", broker.url, "--timeout", "300");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`no response to ping from nobody_here within 300 ms on ${broker.url}`);
  });

  it("prints each item of a stream on a line of its own, then the result on the last", async () => {
    const run = await cli("call", "cli_target", "count", '{"n":3}', "--url", broker.url);
    expect(run).toMatchObject({ code: 0, stdout: '{"i":0}\n{"i":1}\n{"i":2}\n{"total":3}\n', stderr: "" });
    const empty = await cli("call", "cli_target", "count", '{"n":0}', "--url", broker.url);
    expect(empty).toMatchObject({ code: 0, stdout: '{"total":0}\n', stderr: "" });
  });

  it("prints the items so far, then the error of a stream that fails, and exits 1", async () => {
    const run = await cli("call", "cli_target", "breaks", "--url", broker.url);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('{"i":0}\n{"i":1}\n');
    expect(run.stderr).toContain("cli_target answered breaks after 2 items with error 4002: the arm hit something");
    expect(run.stderr).toContain('data: {"at":2}');
  });

  it("cancels the call on SIGINT (Ctrl-C): the handler's signal aborts, and the CLI exits 130", async () => {
    const aborted = streamAborted();
    const call = children.startTs(CLI, ["call", "cli_target", "ticks", "--url", broker.url, "--timeout", "60000"]);
    await call.waitForStdout(/^\{"i":2\}$/m);
    call.process.kill("SIGINT");
    const run = await call.exit();
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(/SIGINT received: cancelled ticks on cli_target after \d+ items/);
    const lines = run.stdout.trim().split("\n");
    expect(lines.slice(0, 3)).toEqual(['{"i":0}', '{"i":1}', '{"i":2}']);
    expect(lines).toEqual(lines.map((_, i) => JSON.stringify({ i }))); // items only, in order: no result line
    expect(String(await within(aborted, 10_000, "the handler's signal aborted"))).toMatch(/cancelled ticks: .*aborted/);
  });

  it("gives up on a stream that goes quiet for --idle-timeout, after its items, and exits 2; the handler is cancelled", async () => {
    const aborted = streamAborted();
    const run = await cli("call", "cli_target", "ticks", '{"once":true}', "--idle-timeout", "400", "--url", broker.url);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('{"i":0}\n');
    expect(run.stderr).toContain("cli_target sent no item of ticks for 400 ms (--idle-timeout) after 1 item; the service was told to cancel the call");
    await within(aborted, 10_000, "the handler's signal aborted");
  });

  it("delivers a notification to the handler and exits 0", async () => {
    const received = new Promise<void>((resolve) => (onNotification = resolve));
    const run = await cli("notify", "cli_target", "log", '{"message":"from the CLI"}', "--url", broker.url);
    expect(run).toMatchObject({ code: 0, stdout: "", stderr: "" });
    await within(received, 5_000, "the notification handler ran");
    expect(notifications).toEqual([{ message: "from the CLI" }]);
  });
});

describe("mqtt-contracts connection failures and usage", () => {
  it("exits 2 at once, naming the URL, when nothing listens: it does not wait out the connect timeout", async () => {
    const url = `mqtt://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const run = await cli("call", "cli_target", "add", "{}", "--url", url, "--connect-timeout", "60000");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`cannot connect to the broker at ${url}: Could not connect to ${url}: nothing accepts connections there (ECONNREFUSED)`);
    // The point is not the 60 s timeout: the start-up of node and tsx takes a few seconds on a loaded machine.
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("notify exits 2 when the broker is unreachable", async () => {
    const url = `mqtt://127.0.0.1:${await freePort()}`;
    const run = await cli("notify", "cli_target", "log", "{}", "--url", url, "--connect-timeout", "500");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(url);
  });

  it.each([
    ["no command", [], /no command given/],
    ["an unknown command", ["frobnicate"], /unknown command "frobnicate"/],
    ["a missing method", ["call", "cli_target"], /call needs <topic-prefix> and <method>/],
    ["params that are not JSON", ["call", "cli_target", "add", "{a:1}"], /params are not valid JSON/],
    ["params that are not an object", ["call", "cli_target", "add", "[1,2]"], /params must be a JSON object.*got an array/],
    ["an unknown flag", ["call", "cli_target", "add", "--bogus"], /Unknown option '--bogus'/],
    ["a flag of another command", ["broker", "--timeout", "5"], /broker does not take --timeout/],
    ["a bad timeout", ["call", "cli_target", "add", "--timeout", "soon"], /--timeout must be a positive whole number/],
    ["a bad idle timeout", ["call", "cli_target", "add", "--idle-timeout", "0"], /--idle-timeout must be a positive whole number of milliseconds, got "0"/],
    ["an idle timeout without streams", ["call", "agent", "add", "--wire-format", "openmas", "--idle-timeout", "500"], /--idle-timeout is for streams, which --wire-format openmas does not have/],
    ["an idle timeout on notify", ["notify", "cli_target", "log", "--idle-timeout", "500"], /notify does not take --idle-timeout/],
    ["a wildcard in the prefix", ["call", "plant/#", "add"], /topic prefix "plant\/#" must not contain/],
  ] as const)("exits with the usage code on %s", async (_what, args, message) => {
    const run = await cli(...args);
    expect(run.code).toBe(USAGE_EXIT);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain("Usage:");
    expect(run.stdout).toBe("");
  });

  it("prints the usage on --help and exits 0", async () => {
    // The package's bin runs the same main() from dist/: test/consumer.test.ts runs it from the packed tarball.
    const run = await cli("--help");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Usage: mqtt-contracts <command> [options]");
    expect(run.stdout).toContain("codegen [--check] [--contracts <dir>] [--out <dir>] [--watch]");
    expect(run.stdout).toContain("Exit codes:");
  });
});

describe("mqtt-contracts broker", () => {
  it("prints its URL, serves calls, refuses a second broker on its port and stops on SIGTERM", async () => {
    const broker = children.startTs(CLI, ["broker", "--port", "0"]);
    const [, url] = await broker.waitForStdout(/listening on (mqtt:\/\/127\.0\.0\.1:(\d+))/);

    const server = new MqttCommunicator({ agentName: "calc", options: { url: url! }, logger: recordingLogger() });
    server.registerHandler<{ a: number; b: number }>("add", ({ a, b }) => ({ sum: a + b }));
    await server.start();
    try {
      const run = await cli("call", "calc", "add", '{"a":20,"b":22}', "--url", url!);
      expect(run).toMatchObject({ code: 0, stdout: '{"sum":42}\n' });
    } finally {
      await server.stop();
    }

    const second = await cli("broker", "--port", new URL(url!).port);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`Cannot start the embedded broker on 127.0.0.1:${new URL(url!).port}: the port is already in use`);

    broker.process.kill("SIGTERM");
    const stopped = await broker.exit();
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain("SIGTERM received; stopping the broker");
  });
});

const serviceScript = "test/fixtures/python-service/service.py";

describe("mqtt-contracts call can reach a service written in another language that follows the wire format", () => {
  let mosquitto: Awaited<ReturnType<typeof startMosquitto>>;

  beforeAll(async () => {
    requirePaho();
    mosquitto = await startMosquitto();
  });

  afterAll(async () => {
    await PythonAgent.killAll();
    await mosquitto?.close();
  });

  it("calls echo on a paho-mqtt service and gets its errors as JSON-RPC errors", async () => {
    const service = children.start(python, [serviceScript, "127.0.0.1", String(mosquitto.port), "py_service"]);
    await service.waitForStdout(/^ready$/m);

    const echo = await cli("call", "py_service", "echo", '{"message":"hello from TypeScript"}', "--url", mosquitto.url);
    expect(echo).toMatchObject({ code: 0, stdout: '{"original":"hello from TypeScript","echo":"hello from TypeScript"}\n', stderr: "" });

    const missing = await cli("call", "py_service", "nope", "--url", mosquitto.url);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("error -32601 (MethodNotFound): Method not found: nope");

    service.process.kill("SIGTERM");
    expect((await service.exit()).code).toBe(0);
  });

  it("with --wire-format openmas calls and notifies an agent on OpenMAS's built-in communicator, by its name", async () => {
    const agent = await PythonAgent.start("127.0.0.1", mosquitto.port, "py_agent");
    try {
      const echo = await cli("call", "py_agent", "echo", '{"message":"hi"}', "--wire-format", "openmas", "--url", mosquitto.url);
      expect(echo).toMatchObject({ code: 0, stdout: '{"original":"hi","echo":"hi"}\n', stderr: "" });

      const missing = await cli("call", "py_agent", "nope", "--wire-format", "openmas", "--url", mosquitto.url);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("py_agent answered nope with error -32601 (MethodNotFound; OpenMAS code 404): Method 'nope' not found");

      const failed = await cli("call", "py_agent", "fail", '{"message":"no"}', "--wire-format", "openmas", "--url", mosquitto.url);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain("error -32000 (HandlerError; OpenMAS code 500): no");
      expect(failed.stderr).toContain('data: "ValueError"');

      const since = agent.stdoutLines.length;
      const notified = await cli("notify", "py_agent", "log", '{"message":"from the CLI"}', "--wire-format", "openmas", "--url", mosquitto.url);
      expect(notified).toMatchObject({ code: 0, stderr: "" });
      await agent.waitForLine("stdout", /^notification log \{"message": "from the CLI"\}$/, since);

      const silent = await cli("call", "nobody_here", "echo", "--wire-format", "openmas", "--timeout", "300", "--url", mosquitto.url);
      expect(silent.code).toBe(2);
      expect(silent.stderr).toContain("is a service subscribed to openmas/nobody_here/request/echo?");

      const root = await cli("call", "py_agent", "echo", "--wire-format", "openmas", "--openmas-topic-prefix", "other", "--timeout", "300", "--url", mosquitto.url);
      expect(root.code).toBe(2);
      expect(root.stderr).toContain("other/py_agent/request/echo");
    } finally {
      await agent.stop();
    }
  });

  it("with --wire-format openmas says when the agent answered 408 (the deadline passed there), not that nothing answered", async () => {
    const peer = await mqtt.connectAsync(mosquitto.url, { reconnectPeriod: 0 });
    try {
      await peer.subscribeAsync("openmas/late_agent/request/#", { qos: 1 });
      peer.on("message", (_topic, payload) => {
        const request = JSON.parse(payload.toString()) as { id: string; source: string };
        const error = { code: 408, message: "the deadline passed before it ran", details: "RequestTimeoutError" };
        void peer.publishAsync(`openmas/${request.source}/response/${request.id}`, JSON.stringify({ id: request.id, source: "late_agent", target: request.source, timestamp: Date.now(), error }));
      });
      const late = await cli("call", "late_agent", "echo", "--wire-format", "openmas", "--url", mosquitto.url);
      expect(late.code).toBe(2);
      expect(late.stderr).toContain("late_agent answered echo with OpenMAS code 408: Request echo to late_agent timed out at the server: the deadline passed before it ran");
      expect(late.stderr).not.toContain("no response");
    } finally {
      await peer.endAsync();
    }
  });

  it("refuses --wire-format values and agent names that cannot work, before connecting", async () => {
    const format = await cli("call", "py_agent", "echo", "--wire-format", "xml");
    expect(format.code).toBe(64);
    expect(format.stderr).toContain('--wire-format must be jsonrpc or openmas, got "xml"');
    const name = await cli("call", "team/py_agent", "echo", "--wire-format", "openmas");
    expect(name.code).toBe(64);
    expect(name.stderr).toContain('agent name "team/py_agent" must be one topic level');
    const root = await cli("call", "svc", "echo", "--openmas-topic-prefix", "x");
    expect(root.code).toBe(64);
    expect(root.stderr).toContain("--openmas-topic-prefix goes with --wire-format openmas");
    const ls = await cli("ls", "--wire-format", "openmas");
    expect(ls.code).toBe(64);
    expect(ls.stderr).toContain("ls does not take --wire-format");
  });
});
