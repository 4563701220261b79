import { beforeEach, describe, expect, it } from "vitest";
import {
  ConfigurationError,
  ErrorCode,
  MethodNotFoundError,
  RpcError,
  ServiceNotFoundError,
  ValidationError,
  errorFromWire,
  errorToWire,
  MqttCommunicator,
} from "mqtt-contracts";
import { brokerForTest, brokers, type TestBroker } from "./helpers/brokers.js";
import { startedPair } from "./helpers/communicators.js";

describe.each(brokers)("errors on %s", (_name, start) => {
  let broker: TestBroker;
  let client: MqttCommunicator;

  beforeEach(async () => {
    broker = await brokerForTest(start);
    ({ client } = await startedPair(broker, {
      handlers: {
        boom: () => {
          throw new Error("kaput");
        },
        reject: async () => Promise.reject(new TypeError("async kaput")),
        app: () => {
          throw new RpcError(4001, "Gripper is closed", { data: { gripper: "left" } });
        },
        throwsString: () => {
          throw "plain string";
        },
        bigint: () => ({ n: 1n }),
        ok: () => "ok",
      },
    }));
  });

  it("raises ServiceNotFoundError for an unknown service and publishes nothing", async () => {
    const raw = await broker.rawClient();
    const seen: string[] = [];
    raw.on("message", (topic) => seen.push(topic));
    await raw.subscribeAsync("#");
    const error = await client.sendRequest("nope", "ok").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceNotFoundError);
    expect(error).toMatchObject({ target: "nope", message: 'Service "nope" is not in serviceUrls of caller (known: svc)' });
    await expect(client.sendNotification("nope", "ok")).rejects.toBeInstanceOf(ServiceNotFoundError);
    await expect(client.sendRequest("svc", "ok")).resolves.toBe("ok");
    expect(seen.filter((topic) => topic.startsWith("nope"))).toEqual([]);
    expect(seen.filter((topic) => topic.startsWith("svc/request"))).toEqual(["svc/request/ok"]);
  });

  it("raises MethodNotFoundError for an unknown method", async () => {
    const error = await client.sendRequest("svc", "missing").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MethodNotFoundError);
    expect(error).toMatchObject({ code: ErrorCode.MethodNotFound, message: "Method not found: missing", target: "svc" });
  });

  it("turns a throwing handler into -32000 with its message and no stack", async () => {
    const error = (await client.sendRequest("svc", "boom").catch((e: unknown) => e)) as RpcError;
    expect(error).toBeInstanceOf(RpcError);
    expect({ code: error.code, message: error.message, data: error.data }).toEqual({ code: -32000, message: "kaput", data: undefined });
    await expect(client.sendRequest("svc", "reject")).rejects.toMatchObject({ code: -32000, message: "async kaput" });
    await expect(client.sendRequest("svc", "throwsString")).rejects.toMatchObject({ code: -32000, message: "plain string" });
  });

  it("keeps the code and data of an application error", async () => {
    const error = (await client.sendRequest("svc", "app").catch((e: unknown) => e)) as RpcError;
    expect(error).toBeInstanceOf(RpcError);
    expect({ code: error.code, message: error.message, data: error.data }).toEqual({ code: 4001, message: "Gripper is closed", data: { gripper: "left" } });
  });

  it("answers -32603 when the result cannot be carried by JSON, and keeps serving", async () => {
    await expect(client.sendRequest("svc", "bigint")).rejects.toMatchObject({ code: ErrorCode.InternalError });
    await expect(client.sendRequest("svc", "ok")).resolves.toBe("ok");
  });

  it("puts no stack trace on the wire", async () => {
    const raw = await broker.rawClient();
    const answer = new Promise<string>((resolve) => raw.on("message", (_topic, payload) => resolve(payload.toString())));
    await raw.subscribeAsync("raw/response");
    await raw.publishAsync("svc/request/boom", JSON.stringify({ jsonrpc: "2.0", id: "s1", method: "boom", params: {}, response_topic: "raw/response" }));
    expect(await answer).toBe('{"jsonrpc":"2.0","id":"s1","error":{"code":-32000,"message":"kaput"}}');
  });
});

describe("error codec", () => {
  it("maps wire codes to classes", () => {
    expect(errorFromWire({ code: -32601, message: "m" })).toBeInstanceOf(MethodNotFoundError);
    expect(errorFromWire({ code: -32602, message: "m", data: { issues: [] } })).toBeInstanceOf(ValidationError);
    const app = errorFromWire({ code: 7, message: "seven", data: [1] }, { target: "svc", method: "x" });
    expect(app).toMatchObject({ code: 7, message: "seven", data: [1], target: "svc" });
  });

  it("encodes only code, message and data", () => {
    expect(errorToWire(new RpcError(12, "twelve", { data: { a: 1 } }))).toEqual({ code: 12, message: "twelve", data: { a: 1 } });
    expect(errorToWire(new Error("x"))).toEqual({ code: -32000, message: "x" });
    expect(() => new RpcError(1.5, "not an integer")).toThrow(/integer/);
  });
});

describe("configuration errors", () => {
  it("name a bad broker URL without its password", () => {
    const options = { url: "http://alice:s3cr3t-Pa55@example.com:1883" };
    expect(() => new MqttCommunicator({ agentName: "cfg", options })).toThrow(ConfigurationError);
    expect(() => new MqttCommunicator({ agentName: "cfg", options })).toThrow(
      'Invalid mqtt communicator options for cfg: communicatorOptions.url: must be a URL starting with mqtt://, mqtts://, ws:// or wss://, got "http://alice:***@example.com:1883"',
    );
  });
});
