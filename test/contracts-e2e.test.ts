import type { IClientOptions, MqttClient } from "mqtt";
import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from "vitest";
import { ExampleServiceClient, exampleTopics, registerExampleService, type ExampleServiceHandlers } from "../generated/example.js";
import { InventoryServiceClient, InventoryUnknownSkuError, inventoryTopics, registerInventoryService, type InventoryServiceHandlers } from "../generated/inventory.js";
import {
  RobotArmEmergencyStopError,
  RobotArmNothingThereError,
  RobotArmOutOfReachError,
  RobotArmServiceClient,
  registerRobotArmService,
  robotArmTopics,
  type RobotArmMoveToParams,
  type RobotArmMoveWithFeedbackItem,
  type RobotArmMoveWithFeedbackResult,
  type RobotArmServiceHandlers,
} from "../generated/robot_arm.js";
import {
  ContractError,
  ErrorCode,
  MqttCommunicator,
  RequestAbortedError,
  RequestTimeoutError,
  RpcError,
  ValidationError,
  type CallStream,
  type MqttCommunicatorOptions,
} from "mqtt-contracts";
import { brokerForTest, brokers, type TestBroker } from "./helpers/brokers.js";
import { communicator, started } from "./helpers/communicators.js";
import { inbox, type Inbox } from "./helpers/inbox.js";
import { recordingLogger } from "./helpers/recording-logger.js";

/** Every service is served under a two-level prefix, so the topics prove the prefix is used as given. */
const PREFIX = "plant1/agent";
const topics = exampleTopics(PREFIX);

/** What a test's handlers were called with, by method. */
type Calls = Record<string, unknown[]>;

function recorder(): { calls: Calls; record(method: string, params: unknown): void } {
  const calls: Calls = {};
  return { calls, record: (method, params) => void (calls[method] ??= []).push(params) };
}

/** A promise that stays pending until `open()`; the fixture opens every gate before stopping. */
interface Gate {
  readonly opened: Promise<void>;
  open(): void;
}

describe("generated topic helpers", () => {
  it("give the exact topics under a prefix", () => {
    expect(exampleTopics("plant1/agent")).toEqual({
      requests: { get_status: "plant1/agent/request/get_status", echo: "plant1/agent/request/echo" },
      notifications: { log: "plant1/agent/notification/log" },
      requestFilter: "plant1/agent/request/#",
      notificationFilter: "plant1/agent/notification/#",
    });
    expect(robotArmTopics("cell/3/arm")).toEqual({
      requests: {
        move_to: "cell/3/arm/request/move_to",
        move_with_feedback: "cell/3/arm/request/move_with_feedback",
        pick: "cell/3/arm/request/pick",
        joint_angles: "cell/3/arm/request/joint_angles",
        tool_info: "cell/3/arm/request/tool_info",
      },
      notifications: { status_changed: "cell/3/arm/notification/status_changed" },
      requestFilter: "cell/3/arm/request/#",
      notificationFilter: "cell/3/arm/notification/#",
    });
    expect(inventoryTopics("inventory")).toEqual({
      requests: { lookup: "inventory/request/lookup", reserve: "inventory/request/reserve" },
      notifications: { restocked: "inventory/notification/restocked" },
      requestFilter: "inventory/request/#",
      notificationFilter: "inventory/notification/#",
    });
  });
});

describe.each(brokers)("generated contracts end to end on %s", (name, start) => {
  let broker: TestBroker;
  const inboxes: Inbox[] = [];
  const gates: Gate[] = [];

  beforeEach(async () => {
    broker = await brokerForTest(start);
  });

  afterEach(() => {
    for (const seen of inboxes.splice(0)) seen.dispose();
    for (const gate of gates.splice(0)) gate.open();
  });

  /** A started server under PREFIX, with handlers put on it by `register` before it starts. */
  async function server(register: (communicator: MqttCommunicator) => void, extra: MqttCommunicatorOptions = {}) {
    const log = recordingLogger();
    const made = communicator(broker, { agentName: "plant-agent", options: { topicPrefix: PREFIX, ...extra }, logger: log });
    register(made);
    await made.start();
    return { communicator: made, log };
  }

  /** A started caller that knows every service of this file under PREFIX. */
  async function caller() {
    const log = recordingLogger();
    const made = await started(broker, { agentName: "caller", serviceUrls: { example: PREFIX, robot_arm: PREFIX, inventory: PREFIX }, logger: log });
    return { communicator: made, log };
  }

  /** A raw mqtt.js client subscribed to `filters`, and everything it receives. */
  async function peer(filters: string[], options: IClientOptions = {}): Promise<{ client: MqttClient; seen: Inbox }> {
    const client = await broker.rawClient(options);
    const seen = inbox(client);
    inboxes.push(seen);
    if (filters.length > 0) await client.subscribeAsync(filters, { qos: 1 });
    return { client, seen };
  }

  function gate(): Gate {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const created = { opened, open };
    gates.push(created);
    return created;
  }

  /** Example handlers that record every call; echo of "hang" waits for `hang`, echo of "break" returns an invalid result. */
  function exampleHandlers(hang?: Gate) {
    const { calls, record } = recorder();
    const entered: string[] = [];
    const handlers = {
      get_status(params) {
        record("get_status", params);
        return { status: "running", agent_name: "plant-agent" };
      },
      async echo(params) {
        record("echo", params);
        if (params.message === "hang" && hang) {
          entered.push(params.message);
          await hang.opened;
        }
        if (params.message === "break") return { original: 1 } as never;
        return { original: params.message, echo: params.message };
      },
      log(params) {
        record("log", params);
      },
    } satisfies ExampleServiceHandlers;
    return { handlers, calls, entered };
  }

  /** The JSON bodies `seen` got on `topic`. */
  function bodiesOn(seen: Inbox, topic: string): unknown[] {
    return seen.on(topic).map((m) => JSON.parse(m.text));
  }

  describe("example service", () => {
    it("serves get_status without params, echo, and the log notification through the generated stubs", async () => {
      const { handlers, calls } = exampleHandlers();
      await server((communicator) => registerExampleService(communicator, handlers));
      const client = new ExampleServiceClient((await caller()).communicator, "example");

      const status = await client.get_status();
      expectTypeOf(status).toEqualTypeOf<{ status: string; agent_name: string }>();
      expect(status).toEqual({ status: "running", agent_name: "plant-agent" });
      expect(await client.echo({ message: "hello, plant" })).toEqual({ original: "hello, plant", echo: "hello, plant" });

      await client.log({ message: "shift started" });
      await vi.waitFor(() => expect(calls.log).toEqual([{ message: "shift started" }]), { timeout: 5_000, interval: 10 });
      expect(calls.get_status).toEqual([{}]);
      expect(calls.echo).toEqual([{ message: "hello, plant" }]);
    });

    it("answers invalid params from a raw client with -32602 and Zod's issues, without calling the handler", async () => {
      const { handlers, calls } = exampleHandlers();
      await server((communicator) => registerExampleService(communicator, handlers));
      const { client: raw, seen } = await peer(["e2e/raw/#"]);

      await raw.publishAsync(topics.requests.echo, JSON.stringify({ jsonrpc: "2.0", id: "bad-1", method: "echo", params: { message: 123 }, response_topic: "e2e/raw/1" }), { qos: 1 });
      expect(await seen.jsonOn("e2e/raw/1")).toMatchInlineSnapshot(`
        {
          "error": {
            "code": -32602,
            "data": {
              "issues": [
                {
                  "code": "invalid_type",
                  "expected": "string",
                  "message": "Invalid input: expected string, received number",
                  "path": [
                    "message",
                  ],
                },
              ],
            },
            "message": "Invalid params for example.echo: message: Invalid input: expected string, received number",
          },
          "id": "bad-1",
          "jsonrpc": "2.0",
        }
      `);

      await raw.publishAsync(topics.requests.echo, JSON.stringify({ jsonrpc: "2.0", id: "bad-2", method: "echo", params: {}, response_topic: "e2e/raw/2" }), { qos: 1 });
      expect(await seen.jsonOn("e2e/raw/2")).toMatchObject({ id: "bad-2", error: { code: ErrorCode.InvalidParams, data: { issues: [{ path: ["message"] }] } } });

      // The answer is published after the handler would have run, so none can still be on its way.
      expect(calls.echo).toBeUndefined();
      await raw.publishAsync(topics.requests.echo, JSON.stringify({ jsonrpc: "2.0", id: "ok-1", method: "echo", params: { message: "fine" }, response_topic: "e2e/raw/3" }), { qos: 1 });
      expect(await seen.jsonOn("e2e/raw/3")).toEqual({ jsonrpc: "2.0", id: "ok-1", result: { original: "fine", echo: "fine" } });
      expect(calls.echo).toEqual([{ message: "fine" }]);
    });

    it("answers -32603 and never sends a result the handler got wrong", async () => {
      const { handlers } = exampleHandlers();
      await server((communicator) => registerExampleService(communicator, handlers));
      const { communicator } = await caller();
      const client = new ExampleServiceClient(communicator, "example");
      const { seen } = await peer([communicator.responseTopic]);

      const error = await client.echo({ message: "break" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RpcError);
      expect(error).not.toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ code: ErrorCode.InternalError, target: "example" });

      const answer = await seen.jsonOn(communicator.responseTopic);
      expect(answer).not.toHaveProperty("result");
      expect(answer).toMatchInlineSnapshot({ id: expect.any(String) }, `
        {
          "error": {
            "code": -32603,
            "data": {
              "issues": [
                {
                  "code": "invalid_type",
                  "expected": "string",
                  "message": "Invalid input: expected string, received number",
                  "path": [
                    "original",
                  ],
                },
                {
                  "code": "invalid_type",
                  "expected": "string",
                  "message": "Invalid input: expected string, received undefined",
                  "path": [
                    "echo",
                  ],
                },
              ],
            },
            "message": "Internal error: the handler of example.echo returned an invalid result: original: Invalid input: expected string, received number; echo: Invalid input: expected string, received undefined",
          },
          "id": Any<String>,
          "jsonrpc": "2.0",
        }
      `);
      expect(await client.echo({ message: "still serving" })).toEqual({ original: "still serving", echo: "still serving" });
    });

    it("publishes nothing for params that fail the client's schema", async () => {
      const { handlers, calls } = exampleHandlers();
      await server((communicator) => registerExampleService(communicator, handlers));
      const client = new ExampleServiceClient((await caller()).communicator, "example");
      const { seen } = await peer(["#"]);

      const error = await client.echo({ message: 123 } as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect({ code: (error as ValidationError).code, message: (error as ValidationError).message, data: (error as ValidationError).data }).toMatchInlineSnapshot(`
        {
          "code": -32602,
          "data": {
            "issues": [
              {
                "code": "invalid_type",
                "expected": "string",
                "message": "Invalid input: expected string, received number",
                "path": [
                  "message",
                ],
              },
            ],
          },
          "message": "Invalid params for example.echo: message: Invalid input: expected string, received number",
        }
      `);
      await expect(client.log({} as never)).rejects.toBeInstanceOf(ValidationError);

      // Everything the caller published before this call reaches the peer before it does.
      expect(await client.echo({ message: "valid" })).toEqual({ original: "valid", echo: "valid" });
      await seen.waitFor((m) => m.topic === topics.requests.echo);
      const published = seen.messages.filter((m) => m.topic.startsWith(`${PREFIX}/request/`) || m.topic.startsWith(`${PREFIX}/notification/`));
      expect(published.map((m) => m.topic)).toEqual([topics.requests.echo]);
      expect(JSON.parse(published[0]!.text)).toMatchObject({ jsonrpc: "2.0", method: "echo", params: { message: "valid" } });
      expect(calls).toEqual({ echo: [{ message: "valid" }] });
    });

    it("raises ValidationError for a result that fails the client's result schema", async () => {
      await server((communicator) => communicator.registerHandler("echo", () => ({ nope: true })));
      const client = new ExampleServiceClient((await caller()).communicator, "example");

      const error = await client.echo({ message: "hi" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ target: "example", message: expect.stringContaining("Invalid result") });
      expect({ message: (error as ValidationError).message, data: (error as ValidationError).data }).toMatchInlineSnapshot(`
        {
          "data": {
            "issues": [
              {
                "code": "invalid_type",
                "expected": "string",
                "message": "Invalid input: expected string, received undefined",
                "path": [
                  "original",
                ],
              },
              {
                "code": "invalid_type",
                "expected": "string",
                "message": "Invalid input: expected string, received undefined",
                "path": [
                  "echo",
                ],
              },
            ],
          },
          "message": "Invalid result from example.echo: original: Invalid input: expected string, received undefined; echo: Invalid input: expected string, received undefined",
        }
      `);
    });

    it("drops an invalid notification from a raw client with a warning, without calling the handler", async () => {
      const { handlers, calls } = exampleHandlers();
      const logger = recordingLogger();
      const { log: serverLog } = await server((communicator) => registerExampleService(communicator, handlers, { logger }));
      const { client: raw } = await peer([]);

      await raw.publishAsync(topics.notifications.log, JSON.stringify({ jsonrpc: "2.0", method: "log", params: { message: 123 } }), { qos: 1 });
      await vi.waitFor(() => expect(logger.lines).toHaveLength(1), { timeout: 5_000, interval: 10 });
      expect(logger.lines).toMatchInlineSnapshot(`
        [
          {
            "level": "warn",
            "message": "Dropped notification example.log with invalid params: message: Invalid input: expected string, received number",
          },
        ]
      `);

      // Notifications from one connection are handled in order: once this one is in, the bad one was not.
      await raw.publishAsync(topics.notifications.log, JSON.stringify({ jsonrpc: "2.0", method: "log", params: { message: "valid" } }), { qos: 1 });
      await vi.waitFor(() => expect(calls.log).toBeDefined(), { timeout: 5_000, interval: 10 });
      expect(calls.log).toEqual([{ message: "valid" }]);
      expect(logger.lines).toHaveLength(1);
      expect(serverLog.lines.filter((line) => line.level === "error")).toEqual([]);
    });

    it("honours timeoutMs and signal per call", async () => {
      const hang = gate();
      const { handlers, entered } = exampleHandlers(hang);
      await server((communicator) => registerExampleService(communicator, handlers));
      const client = new ExampleServiceClient((await caller()).communicator, "example");

      const timedOut = await client.echo({ message: "hang" }, { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(timedOut).toBeInstanceOf(RequestTimeoutError);
      expect(timedOut).toMatchObject({ target: "example", timeoutMs: 200, message: expect.stringMatching(/^Request echo to example timed out after 200 ms: no response came\./) });

      const controller = new AbortController();
      const call = client.echo({ message: "hang" }, { signal: controller.signal });
      await vi.waitFor(() => expect(entered).toHaveLength(2), { timeout: 5_000, interval: 10 });
      const reason = new Error("operator cancelled");
      controller.abort(reason);
      const aborted = await call.catch((e: unknown) => e);
      expect(aborted).toBeInstanceOf(RequestAbortedError);
      expect((aborted as RequestAbortedError).cause).toBe(reason);

      hang.open();
      expect(await client.echo({ message: "after" })).toEqual({ original: "after", echo: "after" });
    });

    it("passes the contract's timeoutMs to the communicator unless the call gives one", async () => {
      const { handlers } = exampleHandlers();
      await server((communicator) => registerExampleService(communicator, handlers));
      const { communicator } = await caller();
      const sendRequest = vi.spyOn(communicator, "sendRequest");
      const client = new ExampleServiceClient(communicator, "example");

      const { signal } = new AbortController();
      await client.echo({ message: "a" });
      await client.echo({ message: "b" }, { timeoutMs: 1_234 });
      await client.echo({ message: "c" }, { signal });
      await client.get_status();
      expect(sendRequest.mock.calls.map((args) => [args[1], args[3]?.timeoutMs, args[3]?.signal])).toEqual([
        ["echo", 5_000, undefined],
        ["echo", 1_234, undefined],
        ["echo", 5_000, signal],
        ["get_status", undefined, undefined],
      ]);
    });

    it.runIf(name === "mosquitto")("puts the contract's timeout in the MQTT 5 Message Expiry Interval", async () => {
      const { handlers } = exampleHandlers();
      await server((communicator) => registerExampleService(communicator, handlers));
      const { communicator } = await caller();
      expect(communicator.protocolVersion).toBe(5);
      const { seen } = await peer([topics.requestFilter, robotArmTopics(PREFIX).requestFilter], { protocolVersion: 5 });
      const example = new ExampleServiceClient(communicator, "example");
      const arm = new RobotArmServiceClient(communicator, "robot_arm");

      await example.echo({ message: "default" });
      await example.echo({ message: "override" }, { timeoutMs: 2_500 });
      await example.get_status();
      // Nobody serves robot_arm here: only the request matters; stopping the caller rejects the call.
      const move = arm.move_to({ target: { x: 0, y: 0 } });
      move.catch(() => undefined);
      const moveRequest = await seen.waitFor((m) => m.topic === robotArmTopics(PREFIX).requests.move_to);

      // Mosquitto forwards the seconds remaining; a request is delivered within the second it arrived in.
      const expiry = (topic: string) => seen.on(topic).map((m) => m.packet.properties?.messageExpiryInterval);
      expect(expiry(topics.requests.echo)).toEqual([5, 3]);
      expect(expiry(topics.requests.get_status)).toEqual([30]);
      expect(moveRequest.packet.properties?.messageExpiryInterval).toBe(20);
    });
  });

  describe("robot_arm service", () => {
    const finishedAt = new Date("2031-05-06T07:08:09.123Z");

    function armHandlers() {
      const { calls, record } = recorder();
      const handlers = {
        move_to(params) {
          record("move_to", params);
          if (params.target.x > 1.2) throw new RobotArmOutOfReachError({ max_reach_m: 1.2 });
          if (params.target.x === -1) throw new RobotArmEmergencyStopError();
          if (params.target.x === -2) throw new RpcError(4999, "Gripper jammed", { data: { gripper: "left" } });
          if (params.target.x === -3) throw new RobotArmNothingThereError({ seen: ["bolt-7"] });
          return { reached: params.target, duration_ms: 1_500, finished_at: finishedAt };
        },
        async *move_with_feedback(params, context) {
          record("move_with_feedback", params);
          context.signal.addEventListener("abort", () => record("move_with_feedback aborted", String(context.signal.reason)));
          for (let step = 1; step <= 5; step++) {
            if (params.target.x > 1.2 && step === 2) throw new RobotArmOutOfReachError({ max_reach_m: 1.2 });
            yield { x: (params.target.x * step) / 5, y: (params.target.y * step) / 5, progress: step / 5 };
            if (params.speed === "slow") await new Promise((resolve) => setTimeout(resolve, 20));
          }
          return { reached: params.target, duration_ms: 5 };
        },
        pick(params) {
          record("pick", params);
          return { held: true, weight_g: 12.5 };
        },
        joint_angles(params) {
          record("joint_angles", params);
          return [0, 0.5, -1.25];
        },
        tool_info(params) {
          record("tool_info", params);
          return null;
        },
        status_changed(params) {
          record("status_changed", params);
        },
      } satisfies RobotArmServiceHandlers;
      return { handlers, calls };
    }

    it("applies defaults and decodes codecs on the server, and decodes the result's codecs on the client", async () => {
      const { handlers, calls } = armHandlers();
      await server((communicator) => registerRobotArmService(communicator, handlers));
      const { communicator } = await caller();
      const client = new RobotArmServiceClient(communicator, "robot_arm");
      const { seen } = await peer([communicator.responseTopic]);

      const result = await client.move_to({ target: { x: 0.5, y: 0.25 }, deadline: "2031-05-06T07:10:00.000Z" });
      const [received] = calls.move_to as RobotArmMoveToParams[];
      expect(received).toEqual({ target: { x: 0.5, y: 0.25 }, waypoints: [], speed: "normal", deadline: new Date("2031-05-06T07:10:00.000Z") });
      expect(received!.deadline).toBeInstanceOf(Date);

      expect(result.finished_at).toBeInstanceOf(Date);
      expect(result.finished_at.getTime()).toBe(finishedAt.getTime());
      expect(result).toEqual({ reached: { x: 0.5, y: 0.25 }, duration_ms: 1_500, finished_at: finishedAt });
      // On the wire the Date is its ISO string.
      expect(await seen.jsonOn(communicator.responseTopic)).toMatchObject({ result: { finished_at: "2031-05-06T07:08:09.123Z" } });

      await client.move_to({ target: { x: 0, y: 0 }, speed: "fast", waypoints: [{ x: 0.1, y: 0.1, theta: 1 }] });
      expect(calls.move_to![1]).toEqual({ target: { x: 0, y: 0 }, speed: "fast", waypoints: [{ x: 0.1, y: 0.1, theta: 1 }] });

      expect(await client.joint_angles()).toEqual([0, 0.5, -1.25]);
      expect(await client.tool_info()).toBeNull();
      expect(await client.pick({ object_id: "bolt-7", shape: { kind: "sphere", radius: 0.01 }, grip: 40, label: null })).toEqual({ held: true, weight_g: 12.5 });

      await client.status_changed({ state: "moving", at: "2031-05-06T07:08:00.000Z" });
      await vi.waitFor(() => expect(calls.status_changed).toHaveLength(1), { timeout: 5_000, interval: 10 });
      expect(calls.status_changed).toEqual([{ state: "moving", at: new Date("2031-05-06T07:08:00.000Z") }]);
    });

    it("streams move_with_feedback through the generated client: typed items, the result, a declared error mid-stream, and cancel", async () => {
      const { handlers, calls } = armHandlers();
      await server((communicator) => registerRobotArmService(communicator, handlers));
      const client = new RobotArmServiceClient((await caller()).communicator, "robot_arm");

      const move = client.move_with_feedback({ target: { x: 1, y: 0.5 } });
      expectTypeOf(move).toEqualTypeOf<CallStream<RobotArmMoveWithFeedbackItem, RobotArmMoveWithFeedbackResult>>();
      const poses: RobotArmMoveWithFeedbackItem[] = [];
      for await (const pose of move) poses.push(pose);
      expect(poses.map((pose) => pose.progress)).toEqual([0.2, 0.4, 0.6, 0.8, 1]);
      expect(poses[4]).toMatchObject({ x: 1, y: 0.5 });
      expect(await move.result).toEqual({ reached: { x: 1, y: 0.5 }, duration_ms: 5 });
      expect(calls.move_with_feedback).toEqual([{ target: { x: 1, y: 0.5 }, speed: "normal" }]);

      const tooFar = client.move_with_feedback({ target: { x: 3, y: 0 } });
      const before: RobotArmMoveWithFeedbackItem[] = [];
      const error = await (async () => {
        for await (const pose of tooFar) before.push(pose);
      })().catch((e: unknown) => e);
      expect(before).toHaveLength(1);
      expect(error).toBeInstanceOf(RobotArmOutOfReachError);
      expect((error as RobotArmOutOfReachError).data.max_reach_m).toBe(1.2);

      const slow = client.move_with_feedback({ target: { x: 1, y: 1 }, speed: "slow" });
      for await (const pose of slow) if (pose.progress >= 0.4) break;
      await vi.waitFor(() => expect(calls["move_with_feedback aborted"]).toEqual([expect.stringMatching(/cancelled/)]), { timeout: 5_000, interval: 10 });
    });

    it("raises declared application errors as their generated classes, and undeclared ones as plain RpcError", async () => {
      const { handlers } = armHandlers();
      await server((communicator) => registerRobotArmService(communicator, handlers));
      const client = new RobotArmServiceClient((await caller()).communicator, "robot_arm");

      const outOfReach = await client.move_to({ target: { x: 3, y: 0 } }).catch((e: unknown) => e);
      expect(outOfReach).toBeInstanceOf(RobotArmOutOfReachError);
      expect(outOfReach).toBeInstanceOf(ContractError);
      expect(outOfReach).toBeInstanceOf(RpcError);
      const typed = outOfReach as RobotArmOutOfReachError;
      expect(typed.code).toBe(4001);
      expect(typed.data.max_reach_m).toBe(1.2);
      expect(typed.errorName).toBe("OutOfReach");
      expect({ name: typed.name, message: typed.message, target: typed.target, data: typed.data }).toEqual({
        name: "RobotArmOutOfReachError",
        message: "The target is outside the arm's reach.",
        target: "robot_arm",
        data: { max_reach_m: 1.2 },
      });
      expect(typed.cause).toBeInstanceOf(RpcError);

      const stop = await client.move_to({ target: { x: -1, y: 0 } }).catch((e: unknown) => e);
      expect(stop).toBeInstanceOf(RobotArmEmergencyStopError);
      expect(stop).toBeInstanceOf(RpcError);
      expect(stop).toMatchObject({ code: 4002, errorName: "EmergencyStop", data: undefined, message: "The emergency stop is engaged." });

      const undeclared = await client.move_to({ target: { x: -2, y: 0 } }).catch((e: unknown) => e);
      expect(undeclared).toBeInstanceOf(RpcError);
      expect(undeclared).not.toBeInstanceOf(ContractError);
      expect(undeclared).toMatchObject({ code: 4999, message: "Gripper jammed", data: { gripper: "left" } });

      // Declared for pick, not for move_to: the client of move_to does not claim to know it.
      const otherMethods = await client.move_to({ target: { x: -3, y: 0 } }).catch((e: unknown) => e);
      expect(otherMethods).toBeInstanceOf(RpcError);
      expect(otherMethods).not.toBeInstanceOf(ContractError);
      expect(otherMethods).toMatchObject({ code: 4010, data: { seen: ["bolt-7"] } });
    });
  });

  describe("inventory service (zod/v3)", () => {
    function inventoryHandlers() {
      const { calls, record } = recorder();
      const handlers = {
        lookup(params) {
          record("lookup", params);
          // `tags` left out on purpose: the v3 result schema fills in its default before sending.
          const item = { sku: `${params.prefix}-1`, quantity: 4, location: { aisle: 2, shelf: "top" as const } };
          return { items: [item], truncated: false } as never;
        },
        reserve(params) {
          record("reserve", params);
          if (params.sku === "GHOST") throw new InventoryUnknownSkuError({ sku: params.sku });
          return params.quantity <= 12 ? { reserved: true, reservation_id: `r-${params.sku}` } : { reserved: false, available: 12 };
        },
        restocked(params) {
          record("restocked", params);
        },
      } satisfies InventoryServiceHandlers;
      return { handlers, calls };
    }

    it("applies defaults server-side and carries union results", async () => {
      const { handlers, calls } = inventoryHandlers();
      await server((communicator) => registerInventoryService(communicator, handlers));
      const client = new InventoryServiceClient((await caller()).communicator, "inventory");

      expect(await client.lookup({ prefix: "BOLT" })).toEqual({
        items: [{ sku: "BOLT-1", quantity: 4, location: { aisle: 2, shelf: "top" }, tags: [] }],
        truncated: false,
      });
      await client.lookup({ prefix: "NUT", limit: 5 });
      expect(calls.lookup).toEqual([
        { prefix: "BOLT", limit: 20 },
        { prefix: "NUT", limit: 5 },
      ]);

      expect(await client.reserve({ sku: "BOLT-1", quantity: 3 })).toEqual({ reserved: true, reservation_id: "r-BOLT-1" });
      expect(await client.reserve({ sku: "BOLT-1", quantity: 500, note: "big order" })).toEqual({ reserved: false, available: 12 });
      const unknown = await client.reserve({ sku: "GHOST", quantity: 1 }).catch((e: unknown) => e);
      expect(unknown).toBeInstanceOf(InventoryUnknownSkuError);
      expect(unknown).toMatchObject({ code: 4404, errorName: "UnknownSku", data: { sku: "GHOST" } });

      await client.restocked({ sku: "BOLT-1", quantity: 100 });
      await vi.waitFor(() => expect(calls.restocked).toEqual([{ sku: "BOLT-1", quantity: 100 }]), { timeout: 5_000, interval: 10 });
    });

    it("answers invalid params from a raw client with -32602 and Zod 3's issues", async () => {
      const { handlers, calls } = inventoryHandlers();
      await server((communicator) => registerInventoryService(communicator, handlers));
      const { client: raw, seen } = await peer(["e2e/raw/#"]);

      const params = { prefix: "", limit: 1.5 };
      await raw.publishAsync(inventoryTopics(PREFIX).requests.lookup, JSON.stringify({ jsonrpc: "2.0", id: 9, method: "lookup", params, response_topic: "e2e/raw/v3" }), { qos: 1 });
      expect(await seen.jsonOn("e2e/raw/v3")).toMatchInlineSnapshot(`
        {
          "error": {
            "code": -32602,
            "data": {
              "issues": [
                {
                  "code": "too_small",
                  "exact": false,
                  "inclusive": true,
                  "message": "String must contain at least 1 character(s)",
                  "minimum": 1,
                  "path": [
                    "prefix",
                  ],
                  "type": "string",
                },
                {
                  "code": "invalid_type",
                  "expected": "integer",
                  "message": "Expected integer, received float",
                  "path": [
                    "limit",
                  ],
                  "received": "float",
                },
              ],
            },
            "message": "Invalid params for inventory.lookup: prefix: String must contain at least 1 character(s); limit: Expected integer, received float",
          },
          "id": 9,
          "jsonrpc": "2.0",
        }
      `);
      expect(calls.lookup).toBeUndefined();
    });
  });
});
