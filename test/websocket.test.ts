/**
 * MQTT over WebSocket: `ws://` URLs work for communicators, generated clients, the CLI and agent configs,
 * against the embedded broker's `wsPort` and a Mosquitto with a websockets listener; the embedded
 * broker's WebSocket listener keeps pages of other origins out, and `mqtt-contracts broker --ws-port`
 * serves it from the command line.
 */
import { request } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { agentConfigFromEnv, BaseAgent, CommunicationError, startBroker, type EmbeddedBroker, type MqttCommunicator } from "mqtt-contracts";
import { ExampleServiceClient, registerExampleService } from "../generated/index.js";
import { wsBrokers, type WsBroker } from "./helpers/brokers.js";
import { Children } from "./helpers/child-process.js";
import { communicator, started } from "./helpers/communicators.js";

const CLI = "src/cli/main.ts";
const children = new Children();
afterEach(() => children.killAll());
const cli = (...args: string[]) => children.startTs(CLI, args).exit(60_000);

/** The example service's handlers, answering with `who` so a test sees which instance answered. */
function serveExample(on: MqttCommunicator, who: string, onLog: (message: string) => void = () => undefined): void {
  registerExampleService(on, {
    get_status: () => ({ status: "running", agent_name: who }),
    echo: ({ message }) => ({ original: message, echo: message }),
    log: ({ message }) => onLog(message),
  });
}

/** The example service as `name` on the broker at `url`, started; stopped when the test ends. */
async function exampleServer(url: string, name: string, onLog?: (message: string) => void): Promise<MqttCommunicator> {
  const server = communicator(url, { agentName: name });
  serveExample(server, name, onLog);
  await server.start();
  return server;
}

describe.each(wsBrokers)("MQTT over WebSocket on %s", (_name, start) => {
  let broker: WsBroker;
  beforeAll(async () => {
    broker = await start();
  });
  afterAll(() => broker.close());

  it("a service over ws:// answers a generated client over ws:// and one over TCP", async () => {
    await exampleServer(broker.wsUrl, "ws_example");
    const overWs = await started(broker.wsUrl, { agentName: "page", serviceUrls: { example: "ws_example" } });
    const overTcp = await started(broker.url, { agentName: "tcp_caller", serviceUrls: { example: "ws_example" } });
    const wsClient = new ExampleServiceClient(overWs, "example");
    const tcpClient = new ExampleServiceClient(overTcp, "example");
    await expect(wsClient.echo({ message: "över WebSocket ✓" })).resolves.toEqual({ original: "över WebSocket ✓", echo: "över WebSocket ✓" });
    await expect(tcpClient.get_status({})).resolves.toEqual({ status: "running", agent_name: "ws_example" });
    // Validation runs on the client before anything is sent, over WebSocket as over TCP.
    await expect(wsClient.echo({ message: 42 } as never)).rejects.toMatchObject({ code: -32602 });
  });

  it("mqtt-contracts call and notify take a ws:// URL", async () => {
    let onLog: (message: string) => void = () => undefined;
    await exampleServer(broker.url, "cli_ws_target", (message) => onLog(message));
    const call = await cli("call", "cli_ws_target", "echo", '{"message":"from the CLI"}', "--url", broker.wsUrl);
    expect(call).toMatchObject({ code: 0, stdout: '{"original":"from the CLI","echo":"from the CLI"}\n' });
    const logged = new Promise<string>((resolve) => (onLog = resolve));
    const notify = await cli("notify", "cli_ws_target", "log", '{"message":"noted"}', "--url", broker.wsUrl);
    expect(notify.code).toBe(0);
    await expect(logged).resolves.toBe("noted");
  });

  it("an agent configured from MQTT_URL=ws://… serves over WebSocket", async () => {
    class WsAgent extends BaseAgent {
      protected override async setup(): Promise<void> {
        serveExample(this.communicator as MqttCommunicator, this.name);
      }
    }
    const config = agentConfigFromEnv({ name: "ws_agent", communicatorType: "mqtt" }, { MQTT_URL: broker.wsUrl });
    expect(config.communicatorOptions).toMatchObject({ url: broker.wsUrl });
    const agent = new WsAgent(config);
    await agent.start();
    try {
      const caller = await started(broker.url, { agentName: "agent_caller", serviceUrls: { example: "ws_agent" } });
      await expect(new ExampleServiceClient(caller, "example").get_status({})).resolves.toEqual({ status: "running", agent_name: "ws_agent" });
    } finally {
      await agent.stop();
    }
  });
});

/** Open a WebSocket to `url` as a browser page of `origin` would (no Origin: as a non-browser client); resolves with the HTTP status of a refusal, or 101. */
function upgrade(url: string, origin: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, "mqtt", origin === undefined ? {} : { origin });
    socket.once("open", () => {
      socket.terminate();
      resolve(101);
    });
    socket.once("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
      socket.terminate();
    });
    socket.once("error", (error) => reject(error));
  });
}

describe("the embedded broker's WebSocket listener", () => {
  const brokers: EmbeddedBroker[] = [];
  afterEach(async () => {
    await Promise.all(brokers.splice(0).map((broker) => broker.close()));
  });
  const startWs = async (options: Parameters<typeof startBroker>[0] = {}) => {
    const broker = await startBroker({ wsPort: 0, ...options });
    brokers.push(broker);
    return broker;
  };

  it("lets in clients without an Origin and pages of this machine, and refuses pages of other origins", async () => {
    const broker = await startWs();
    expect(broker.wsUrl).toBe(`ws://127.0.0.1:${broker.wsPort}`);
    expect(broker.wsPort).not.toBe(broker.port);
    expect(await upgrade(broker.wsUrl!, undefined)).toBe(101);
    expect(await upgrade(broker.wsUrl!, `http://127.0.0.1:${broker.port}`)).toBe(101);
    expect(await upgrade(broker.wsUrl!, "http://localhost:5173")).toBe(101);
    expect(await upgrade(broker.wsUrl!, "https://evil.example")).toBe(401);
    expect(await upgrade(broker.wsUrl!, "http://127.0.0.1.evil.example")).toBe(401);
    expect(await upgrade(broker.wsUrl!, "null")).toBe(401);
  });

  it("wsOrigins names the pages let in, and * lets in any", async () => {
    const listed = await startWs({ wsOrigins: ["https://dash.example.com"] });
    expect(await upgrade(listed.wsUrl!, "https://dash.example.com")).toBe(101);
    expect(await upgrade(listed.wsUrl!, "http://127.0.0.1:8080")).toBe(401);
    expect(await upgrade(listed.wsUrl!, undefined)).toBe(101);
    const any = await startWs({ wsOrigins: ["*"] });
    expect(await upgrade(any.wsUrl!, "https://anywhere.example")).toBe(101);
  });

  it("answers a plain HTTP request with 426 Upgrade Required", async () => {
    const broker = await startWs();
    const status = await new Promise<number>((resolve, reject) => {
      request(`http://127.0.0.1:${broker.wsPort}/`, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
        .once("error", reject)
        .end();
    });
    expect(status).toBe(426);
  });

  it("refuses a taken WebSocket port with a CommunicationError naming it, and frees its TCP port", async () => {
    const first = await startWs();
    const error = await startBroker({ wsPort: first.wsPort! }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CommunicationError);
    expect((error as Error).message).toBe(`Cannot start the embedded broker's WebSocket listener on 127.0.0.1:${first.wsPort}: the port is already in use`);
    await expect(startBroker({ wsPort: -1 })).rejects.toThrow("wsPort must be an integer from 0 to 65535, got -1");
  });
});

describe("mqtt-contracts broker --ws-port", () => {
  it("prints both URLs, serves a call over ws:// and stops on SIGTERM", async () => {
    const broker = children.startTs(CLI, ["broker", "--port", "0", "--ws-port", "0"]);
    const [, url, wsUrl] = await broker.waitForStdout(/listening on (mqtt:\/\/127\.0\.0\.1:\d+) \(MQTT 3\.1\.1\) and (ws:\/\/127\.0\.0\.1:\d+) \(MQTT over WebSocket\)/, 60_000);
    const server = await exampleServer(url!, "cli_broker_ws");
    const call = await cli("call", "cli_broker_ws", "get_status", "{}", "--url", wsUrl!);
    expect(call).toMatchObject({ code: 0, stdout: '{"status":"running","agent_name":"cli_broker_ws"}\n' });
    await server.stop();
    broker.process.kill("SIGTERM");
    expect((await broker.exit()).code).toBe(0);
  });

  it("refuses --ws-origin without --ws-port, and an origin with a path", async () => {
    const alone = await cli("broker", "--ws-origin", "https://dash.example.com");
    expect(alone.code).toBe(64);
    expect(alone.stderr).toContain("--ws-origin goes with --ws-port");
    const path = await cli("broker", "--ws-port", "0", "--ws-origin", "https://dash.example.com/app");
    expect(path.code).toBe(64);
    expect(path.stderr).toContain("--ws-origin must be * or an origin");
  });
});
