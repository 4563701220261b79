/**
 * OpenMAS's built-in MQTT communicator format against a Python agent that speaks it
 * (test/fixtures/openmas-agent/agent.py, paho-mqtt only), both ways, on the embedded broker and on Mosquitto.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MethodNotFoundError, MqttCommunicator, RequestTimeoutError, RpcError, startBroker } from "mqtt-contracts";
import { ExampleServiceClient, registerExampleService } from "../generated/index.js";
import { Children, repoRoot } from "./helpers/child-process.js";
import { startMosquitto } from "./helpers/mosquitto.js";
import { recordingLogger } from "./helpers/recording-logger.js";

const python = process.env.MQTT_CONTRACTS_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
const AGENT_SCRIPT = "test/fixtures/openmas-agent/agent.py";
const SERVICE_SCRIPT = "test/fixtures/python-service/service.py";

/** How long to wait for anything a child prints; generous, for loaded machines. */
const WAIT_MS = 20_000;

/** One line the Python agent printed in answer to a command. */
interface Answer {
  tag: number;
  result?: unknown;
  raised?: "MethodNotFoundError" | "RequestTimeoutError" | "CommunicationError";
  message?: string;
  error?: { code: number; message: string; details?: unknown } | null;
  details?: Record<string, unknown>;
  sent?: boolean;
  bad_command?: string;
}

/**
 * The Python agent, with its stdin open for commands (the `Children` helper gives children no stdin).
 * Its output is kept line by line; `waitForLine` looks at lines from a given index on.
 */
class PythonAgent {
  private static readonly running = new Set<PythonAgent>();
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly listeners = new Set<() => void>();
  private nextTag = 1;
  private done = false;

  private constructor(
    readonly proc: ChildProcessWithoutNullStreams,
    private readonly args: readonly string[],
  ) {
    const collect = (stream: NodeJS.ReadableStream, lines: string[]) => {
      let partial = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        partial += chunk;
        const complete = partial.split("\n");
        partial = complete.pop()!;
        lines.push(...complete);
        for (const listener of this.listeners) listener();
      });
    };
    collect(proc.stdout, this.stdoutLines);
    collect(proc.stderr, this.stderrLines);
    this.exited = new Promise((resolve, reject) => {
      proc.once("error", reject);
      proc.once("close", (code, signal) => {
        this.done = true;
        PythonAgent.running.delete(this);
        for (const listener of this.listeners) listener();
        resolve({ code, signal });
      });
    });
    this.exited.catch(() => undefined);
    PythonAgent.running.add(this);
  }

  static async start(host: string, port: number, name: string): Promise<PythonAgent> {
    const args = [AGENT_SCRIPT, host, String(port), name];
    const agent = new PythonAgent(spawn(python, args, { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] }), args);
    await agent.waitForLine("stdout", /^ready$/);
    return agent;
  }

  /** SIGKILL whatever is still running (for afterAll, after a failure). */
  static async killAll(): Promise<void> {
    const agents = [...PythonAgent.running];
    for (const agent of agents) agent.proc.kill("SIGKILL");
    await Promise.all(agents.map((agent) => agent.exited.catch(() => undefined)));
  }

  describe(): string {
    return `${python} ${this.args.join(" ")}\n--- stdout ---\n${this.stdoutLines.join("\n")}\n--- stderr ---\n${this.stderrLines.join("\n")}`;
  }

  /** The first line of `stream` from index `since` on that matches `pattern`. */
  waitForLine(stream: "stdout" | "stderr", pattern: RegExp | ((line: string) => boolean), since = 0, timeoutMs = WAIT_MS): Promise<string> {
    const lines = stream === "stdout" ? this.stdoutLines : this.stderrLines;
    const matches = typeof pattern === "function" ? pattern : (line: string) => pattern.test(line);
    return new Promise((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      const check = () => {
        const line = lines.slice(since).find(matches);
        if (line !== undefined) finish(() => resolve(line));
        else if (this.done) finish(() => reject(new Error(`the Python agent exited before printing ${String(pattern)} on ${stream}:\n${this.describe()}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${String(pattern)} on ${stream} within ${timeoutMs} ms:\n${this.describe()}`))), timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  /** Send one command and wait for the one JSON line that answers it (same tag). */
  async command(command: Record<string, unknown>): Promise<Answer> {
    const tag = this.nextTag++;
    const since = this.stdoutLines.length;
    const answered = this.waitForLine("stdout", (line) => line.startsWith("{") && (JSON.parse(line) as Answer).tag === tag, since);
    this.proc.stdin.write(`${JSON.stringify({ ...command, tag })}\n`);
    return JSON.parse(await answered) as Answer;
  }

  call(target: string, method: string, params: Record<string, unknown>, timeout = 15): Promise<Answer> {
    return this.command({ op: "call", target, method, params, timeout });
  }

  /** SIGTERM, and the exit it leads to. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.done) this.proc.kill("SIGTERM");
    return this.exited;
  }
}

/** A broker the Python processes reach over TCP. */
interface TcpBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

const brokers: [string, () => Promise<TcpBroker>][] = [
  ["the embedded broker", () => startBroker()],
  ["Mosquitto", () => startMosquitto()],
];

const children = new Children();

beforeAll(() => {
  const probe = spawnSync(python, ["-c", "import paho.mqtt.client"], { encoding: "utf8" });
  if (probe.status !== 0) {
    throw new Error(
      `${python} cannot import paho-mqtt (${probe.error?.message ?? probe.stderr.trim()}). ` +
        "Install it with `apt-get install -y python3-paho-mqtt`, or point MQTT_CONTRACTS_PYTHON at a Python that has it.",
    );
  }
});

afterEach(() => children.killAll());
afterAll(() => PythonAgent.killAll());

describe.each(brokers)("OpenMAS's built-in MQTT format with a Python agent, via %s", (_name, startBrokerUnderTest) => {
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
    const mixed = new MqttCommunicator({
      agentName: "ts_mixed",
      serviceUrls: { py_agent: "unused", py_service: "py_service" },
      options: { url: broker.url, serviceWireFormats: { py_agent: "openmas" } },
      logger: recordingLogger(),
    });
    try {
      await mixed.start();
      const [fromAgent, fromService] = await Promise.all([
        new ExampleServiceClient(mixed, "py_agent").echo({ message: "to the OpenMAS agent" }),
        new ExampleServiceClient(mixed, "py_service").echo({ message: "to the JSON-RPC service" }),
      ]);
      expect(fromAgent).toEqual({ original: "to the OpenMAS agent", echo: "to the OpenMAS agent" });
      expect(fromService).toEqual({ original: "to the JSON-RPC service", echo: "to the JSON-RPC service" });
    } finally {
      await mixed.stop();
    }
    service.process.kill("SIGTERM");
    expect((await service.exit()).code).toBe(0);
  });

  // Last: the agent is gone afterwards.
  it("the Python agent disconnects and exits 0 on SIGTERM", async () => {
    await expect(py.stop()).resolves.toEqual({ code: 0, signal: null });
  });
});
