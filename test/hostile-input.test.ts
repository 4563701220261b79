import type { MqttClient } from "mqtt";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CommunicationError, RpcError, type MqttCommunicator } from "mqtt-contracts";
import { brokerForTest, brokers, type TestBroker } from "./helpers/brokers.js";
import { started } from "./helpers/communicators.js";
import { inbox, type Inbox, type ReceivedMessage } from "./helpers/inbox.js";
import { recordingLogger } from "./helpers/recording-logger.js";

const REQUEST = "svc/request/echo";
const NOTIFICATION = "svc/notification/x";
const MAX_PAYLOAD = 1024;

/** A JSON request padded with spaces to exactly `bytes` bytes. */
function paddedRequest(bytes: number, fields: Record<string, unknown>): string {
  const json = JSON.stringify(fields);
  if (json.length > bytes) throw new Error(`the request is already ${json.length} bytes`);
  return json + " ".repeat(bytes - json.length);
}

describe.each(brokers)("hostile input on %s", (name, start) => {
  let broker: TestBroker;
  let log: ReturnType<typeof recordingLogger>;
  let server: MqttCommunicator;
  /** A foreign MQTT 3.1.1 peer, subscribed to everything: it sees every answer the service publishes. */
  let peer: MqttClient;
  let seen: Inbox;
  let serial = 0;

  beforeEach(async () => {
    broker = await brokerForTest(start);
    log = recordingLogger();
    server = await started(broker, { agentName: "svc", options: { maxPayloadBytes: MAX_PAYLOAD }, logger: log }, { echo: (params) => params });
    peer = await broker.rawClient();
    seen = inbox(peer);
    // `#` does not match topics starting with "$", so those are watched on their own.
    await peer.subscribeAsync(["#", "$evil/#"], { qos: 1 });
  });

  afterEach(() => seen.dispose());

  function send(payload: string | Buffer, topic = REQUEST): Promise<unknown> {
    return peer.publishAsync(topic, payload, { qos: 1 });
  }

  /** Send `fields` with a fresh `response_topic` in the payload and return the parsed answer. */
  async function answerTo(fields: Record<string, unknown>): Promise<unknown> {
    const replyTo = `hostile/reply/${++serial}`;
    await send(JSON.stringify({ ...fields, response_topic: replyTo }));
    return seen.jsonOn(replyTo);
  }

  /**
   * The service answers a well-formed request, has logged no error, and is still started. The
   * request goes after everything sent before it on the same connection, so once its answer is
   * here every earlier message has been handled.
   */
  async function expectStillServing(): Promise<void> {
    const n = ++serial;
    const replyTo = `hostile/ok/${n}`;
    await send(JSON.stringify({ jsonrpc: "2.0", id: `ok-${n}`, method: "echo", params: { n }, response_topic: replyTo }));
    expect(await seen.jsonOn(replyTo)).toEqual({ jsonrpc: "2.0", id: `ok-${n}`, result: { n } });
    expect(server.started).toBe(true);
    expect(log.lines.filter((line) => line.level === "error")).toEqual([]);
  }

  /** Messages on anything but the service's own request/notification topics and the well-formed answers. */
  function answersSeen(): ReceivedMessage[] {
    return seen.messages.filter((m) => !m.topic.startsWith("svc/") && !m.topic.startsWith("hostile/ok/"));
  }

  async function expectWarning(pattern: RegExp): Promise<void> {
    await vi.waitFor(() => expect(log.find("warn", pattern), `a warning matching ${pattern}`).toBeDefined(), { timeout: 2_000, interval: 10 });
  }

  function dropWarnings(): string[] {
    return log.lines.filter((line) => line.level === "warn" && /dropped (a )?(request|notification|batch entry)/.test(line.message)).map((line) => line.message);
  }

  it("drops unparseable payloads with a warning when only the payload could name a response topic", async () => {
    const garbage = ["not json", "", '{"jsonrpc":"2.0","id":1,"method":"echo","response_topic":"hostile/reply/x"', Buffer.from([0xff, 0xfe, 0x00, 0x7b])];
    for (const payload of garbage) await send(payload);
    await expectStillServing();
    await expectWarning(/dropped a request on svc\/request\/echo: Parse error: .* \(it has no response topic\)$/);
    expect(dropWarnings()).toHaveLength(garbage.length);
    expect(answersSeen()).toEqual([]);
  });

  it("drops JSON that is not an object, and a batch with nowhere to answer", async () => {
    for (const payload of ["42", '"echo"', "null", "true"]) await send(payload);
    // An array is a batch: an empty one is invalid as a whole; the entries of any other are judged one by one.
    for (const payload of ["[]", "[1]", JSON.stringify([{ jsonrpc: "2.0", id: "b0", method: "echo", params: {} }])]) await send(payload);
    await expectStillServing();
    expect(dropWarnings()).toMatchInlineSnapshot(`
      [
        "svc: dropped a request on svc/request/echo: Invalid Request: expected a JSON object, got number (it has no response topic)",
        "svc: dropped a request on svc/request/echo: Invalid Request: expected a JSON object, got string (it has no response topic)",
        "svc: dropped a request on svc/request/echo: Invalid Request: expected a JSON object, got null (it has no response topic)",
        "svc: dropped a request on svc/request/echo: Invalid Request: expected a JSON object, got boolean (it has no response topic)",
        "svc: dropped a request on svc/request/echo: Invalid Request: empty batch (it has no response topic)",
        "svc: dropped a batch entry on svc/request/echo: Invalid Request: expected a JSON object, got number (no usable response topic)",
        "svc: dropped batch entry string "b0" for echo: it has no response topic",
      ]
    `);
    expect(answersSeen()).toEqual([]);
  });

  it("answers a batch entry by entry to the response topic its entries name", async () => {
    const valid = { jsonrpc: "2.0", id: "b1", method: "echo", params: { b: 1 }, response_topic: "hostile/reply/batch" };
    await send(JSON.stringify([valid, 42, { ...valid, id: "b2", params: [] }]));
    expect(await seen.jsonOn("hostile/reply/batch")).toMatchInlineSnapshot(`
      [
        {
          "id": "b1",
          "jsonrpc": "2.0",
          "result": {
            "b": 1,
          },
        },
        {
          "error": {
            "code": -32600,
            "message": "Invalid Request: expected a JSON object, got number",
          },
          "id": null,
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32602,
            "message": "Invalid params: "params" must be an object, got an array",
          },
          "id": "b2",
          "jsonrpc": "2.0",
        },
      ]
    `);
    await expectStillServing();
    expect(dropWarnings()).toEqual([]);
    expect(answersSeen().map((m) => m.topic)).toEqual(["hostile/reply/batch"]);
  });

  it("answers -32600 to a broken envelope, echoing the id only when it is valid", async () => {
    const answers = await Promise.all([
      answerTo({ id: 7, method: "echo", params: {} }),
      answerTo({ jsonrpc: "1.0", id: "a", method: "echo" }),
      answerTo({ jsonrpc: 2, id: "b", method: "echo" }),
      answerTo({ jsonrpc: "2.0", method: "echo" }),
      answerTo({ jsonrpc: "2.0", id: { not: "an id" }, method: "echo" }),
      answerTo({ jsonrpc: "2.0", id: true, method: "echo" }),
      answerTo({ jsonrpc: "2.0", id: "", method: "echo" }),
      answerTo({ jsonrpc: "2.0", id: null, method: "echo" }),
      answerTo({ jsonrpc: "2.0", id: "x".repeat(300), method: "echo" }),
      answerTo({ jsonrpc: "2.0", id: "m1" }),
      answerTo({ jsonrpc: "2.0", id: "m2", method: 42 }),
      answerTo({ jsonrpc: "2.0", id: 3, method: "" }),
      answerTo({ jsonrpc: "1.0", id: {}, method: null }),
    ]);
    expect(answers).toMatchInlineSnapshot(`
      [
        {
          "error": {
            "code": -32600,
            "message": "Invalid Request: "jsonrpc" must be "2.0", got missing",
          },
          "id": 7,
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32600,
            "message": "Invalid Request: "jsonrpc" must be "2.0", got string "1.0"",
          },
          "id": "a",
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32600,
            "message": "Invalid Request: "jsonrpc" must be "2.0", got number 2",
          },
          "id": "b",
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32600,
            "message": "Invalid Request: "id" must be a non-empty string or a number, got missing",
          },
          "id": null,
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32600,
            "message": "Invalid Request: "id" must be a non-empty string or a number, got an object",
          },
          "id": null,
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32600,
            "message": "Invalid Request: "id" must be a non-empty string or a number, got boolean true",
          },
          "id": null,
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32600,
            "message": "Invalid Request: "id" must be a non-empty string or a number, got string """,
          },
          "id": null,
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32600,
            "message": "Invalid Request: "id" must be a non-empty string or a number, got null",
          },
          "id": null,
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32600,
            "message": "Invalid Request: "id" must be a non-empty string or a number, got string "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...",
          },
          "id": null,
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32600,
            "message": "Invalid Request: "method" must be a non-empty string, got missing",
          },
          "id": "m1",
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32600,
            "message": "Invalid Request: "method" must be a non-empty string, got number 42",
          },
          "id": "m2",
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32600,
            "message": "Invalid Request: "method" must be a non-empty string, got string """,
          },
          "id": 3,
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32600,
            "message": "Invalid Request: "jsonrpc" must be "2.0", got string "1.0"",
          },
          "id": null,
          "jsonrpc": "2.0",
        },
      ]
    `);
    await expectStillServing();
  });

  it("answers -32602 when params is not an object", async () => {
    const answers = await Promise.all([
      answerTo({ jsonrpc: "2.0", id: 1, method: "echo", params: [1, 2] }),
      answerTo({ jsonrpc: "2.0", id: 2, method: "echo", params: "text" }),
      answerTo({ jsonrpc: "2.0", id: 3, method: "echo", params: 3 }),
      answerTo({ jsonrpc: "2.0", id: 4, method: "echo", params: null }),
      answerTo({ jsonrpc: "2.0", id: 5, method: "echo", params: false }),
    ]);
    expect(answers).toMatchInlineSnapshot(`
      [
        {
          "error": {
            "code": -32602,
            "message": "Invalid params: "params" must be an object, got an array",
          },
          "id": 1,
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32602,
            "message": "Invalid params: "params" must be an object, got string "text"",
          },
          "id": 2,
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32602,
            "message": "Invalid params: "params" must be an object, got number 3",
          },
          "id": 3,
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32602,
            "message": "Invalid params: "params" must be an object, got null",
          },
          "id": 4,
          "jsonrpc": "2.0",
        },
        {
          "error": {
            "code": -32602,
            "message": "Invalid params: "params" must be an object, got boolean false",
          },
          "id": 5,
          "jsonrpc": "2.0",
        },
      ]
    `);
    await expectStillServing();
  });

  it("answers -32601 for a method nobody serves, on the plain request topic too", async () => {
    expect(await answerTo({ jsonrpc: "2.0", id: "nf", method: "nope", params: {} })).toMatchInlineSnapshot(`
      {
        "error": {
          "code": -32601,
          "message": "Method not found: nope",
        },
        "id": "nf",
        "jsonrpc": "2.0",
      }
    `);
    const replyTo = `hostile/reply/${++serial}`;
    await send(JSON.stringify({ jsonrpc: "2.0", id: "plain", method: "echo", params: { plain: true }, response_topic: replyTo }), "svc/request");
    expect(await seen.jsonOn(replyTo)).toEqual({ jsonrpc: "2.0", id: "plain", result: { plain: true } });
    await expectStillServing();
  });

  it("publishes nothing for a response topic it cannot publish to", async () => {
    const request = { jsonrpc: "2.0", method: "echo", params: {} };
    const topics: unknown[] = ["hostile/+/x", "hostile/#", "$evil/x", "", "nul\u0000topic", 42, null, { topic: "hostile/reply/obj" }];
    for (const [i, topic] of topics.entries()) await send(JSON.stringify({ ...request, id: `t${i}`, response_topic: topic }));
    // A broken request whose response topic is also unusable is dropped the same way.
    await send(JSON.stringify({ jsonrpc: "1.0", id: "broken", method: "echo", response_topic: "hostile/#" }));
    await send(JSON.stringify({ jsonrpc: "2.0", id: "broken2", method: "echo", params: [], response_topic: "$evil/y" }));
    await expectStillServing();
    expect(dropWarnings()).toMatchInlineSnapshot(`
      [
        "svc: dropped request string "t0" for echo: its response topic string "hostile/+/x" must not contain the MQTT wildcard "+"; it gets no answer",
        "svc: dropped request string "t1" for echo: its response topic string "hostile/#" must not contain the MQTT wildcard "#"; it gets no answer",
        "svc: dropped request string "t2" for echo: its response topic string "$evil/x" must not start with "$" (reserved for broker topics such as $SYS); it gets no answer",
        "svc: dropped request string "t3" for echo: its response topic string "" must not be empty; it gets no answer",
        "svc: dropped request string "t4" for echo: its response topic string "nul\\u0000topic" must not contain NUL; it gets no answer",
        "svc: dropped a request on svc/request/echo: Invalid Request: "response_topic" must be a string, got number 42 (its response topic number 42 must be a string, got number)",
        "svc: dropped a request on svc/request/echo: Invalid Request: "response_topic" must be a string, got null (its response topic null must be a string, got null)",
        "svc: dropped a request on svc/request/echo: Invalid Request: "response_topic" must be a string, got an object (its response topic an object must be a string, got object)",
        "svc: dropped a request on svc/request/echo: Invalid Request: "jsonrpc" must be "2.0", got string "1.0" (its response topic string "hostile/#" must not contain the MQTT wildcard "#")",
        "svc: dropped a request on svc/request/echo: Invalid params: "params" must be an object, got an array (its response topic string "$evil/y" must not start with "$" (reserved for broker topics such as $SYS))",
      ]
    `);
    expect(answersSeen()).toEqual([]);
  });

  it("publishes nothing to a response topic a broker would refuse, and answers the next request at once", async () => {
    const request = { jsonrpc: "2.0", method: "echo", params: {} };
    // Each of these passed the checks once; Mosquitto disconnects a client that publishes to any of them.
    const poison: Record<string, string> = {
      "a C0 control": "hostile/a\u0001b",
      "a C1 control": "hostile/a\u0085b",
      "DEL": "hostile/a\u007fb",
      "the non-character U+FFFF": "hostile/a\uffffb",
      "the non-character U+FDD0": "hostile/a\ufdd0b",
      "a non-character in a higher plane": "hostile/a\u{10fffe}b",
      "201 levels": `hostile${"/x".repeat(200)}`,
    };
    for (const [what, topic] of Object.entries(poison)) await send(JSON.stringify({ ...request, id: what, response_topic: topic }));
    // A lone surrogate cannot even be encoded as UTF-8: JSON's escape is the only way a peer can send one.
    await send(`{"jsonrpc":"2.0","method":"echo","params":{},"id":"lone","response_topic":"hostile/a\\ud800b"}`);
    const started = Date.now();
    await expectStillServing();
    // Generous for a loaded machine: the point is that no disconnect and reconnect (~1 s each) came first.
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(dropWarnings()).toMatchInlineSnapshot(`
      [
        "svc: dropped request string "a C0 control" for echo: its response topic string "hostile/a\\u0001b" must not contain U+0001 (control characters and non-characters are refused by brokers); it gets no answer",
        "svc: dropped request string "a C1 control" for echo: its response topic string "hostile/a\\u0085b" must not contain U+0085 (control characters and non-characters are refused by brokers); it gets no answer",
        "svc: dropped request string "DEL" for echo: its response topic string "hostile/a\\u007fb" must not contain U+007F (control characters and non-characters are refused by brokers); it gets no answer",
        "svc: dropped request string "the non-character U+FFFF" for echo: its response topic string "hostile/a￿b" must not contain U+FFFF (control characters and non-characters are refused by brokers); it gets no answer",
        "svc: dropped request string "the non-character U+FDD0" for echo: its response topic string "hostile/a﷐b" must not contain U+FDD0 (control characters and non-characters are refused by brokers); it gets no answer",
        "svc: dropped request string "a non-character in a higher plane" for echo: its response topic string "hostile/a􏿾b" must not contain U+10FFFE (control characters and non-characters are refused by brokers); it gets no answer",
        "svc: dropped request string "201 levels" for echo: its response topic string "hostile/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/... must have at most 200 levels; it gets no answer",
        "svc: dropped request string "lone" for echo: its response topic string "hostile/a\\ud800b" must be well-formed UTF-8 (it has a lone surrogate); it gets no answer",
      ]
    `);
    expect(answersSeen()).toEqual([]);
  });

  it("runs a request redelivered with the same id and response topic once, and answers every copy the same", async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    server.registerHandler("once", async () => {
      const run = ++runs;
      await held;
      return { run };
    });
    const request = (responseTopic: string) => JSON.stringify({ jsonrpc: "2.0", id: 7, method: "once", params: {}, response_topic: responseTopic });
    // Two copies while the first is running, one after it answered: as a broker redelivers at QoS 1.
    await send(request("hostile/reply/dup"));
    await send(request("hostile/reply/dup"));
    await vi.waitFor(() => expect(runs).toBe(1), { timeout: 2_000, interval: 5 });
    release();
    const answers = await seen.allOn("hostile/reply/dup", 2);
    await send(request("hostile/reply/dup"));
    answers.push(...(await seen.allOn("hostile/reply/dup", 3)).slice(2));
    expect(answers.map((m) => JSON.parse(m.text))).toEqual([1, 2, 3].map(() => ({ jsonrpc: "2.0", id: 7, result: { run: 1 } })));
    // The same id from another caller (another response topic) is another request.
    await send(request("hostile/reply/other"));
    expect(await seen.jsonOn("hostile/reply/other")).toEqual({ jsonrpc: "2.0", id: 7, result: { run: 2 } });
    expect(runs).toBe(2);
  });

  it("makes prototype keys in params inert: no handler gets a prototype the sender chose", async () => {
    server.registerHandler("inspect", (params: Record<string, unknown>) => {
      const copy = Object.assign({}, params);
      return { prototypeIsObject: Object.getPrototypeOf(copy) === Object.prototype, keys: Object.keys(params), nested: params.a };
    });
    const payload = `{"jsonrpc":"2.0","id":"proto","method":"inspect","params":{"__proto__":{"polluted":true},"a":{"__proto__":{"x":1},"b":[{"__proto__":{}}]},"constructor":{"prototype":{"p":1}},"name":"ok"},"response_topic":"hostile/reply/proto"}`;
    await send(payload);
    expect(await seen.jsonOn("hostile/reply/proto")).toEqual({ jsonrpc: "2.0", id: "proto", result: { prototypeIsObject: true, keys: ["a", "name"], nested: { b: [{}] } } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("drops a payload over maxPayloadBytes and serves one exactly at the limit", async () => {
    const fields = { jsonrpc: "2.0", method: "echo", params: {}, response_topic: "hostile/reply/big" };
    await send(paddedRequest(MAX_PAYLOAD + 1, { ...fields, id: "over" }));
    await send(paddedRequest(64 * 1024, { ...fields, id: "way-over" }));
    await expectStillServing();
    expect(dropWarnings()).toMatchInlineSnapshot(`
      [
        "svc: dropped a request on svc/request/echo: Invalid Request: payload of 1025 bytes exceeds the limit of 1024 bytes (it has no response topic)",
        "svc: dropped a request on svc/request/echo: Invalid Request: payload of 65536 bytes exceeds the limit of 1024 bytes (it has no response topic)",
      ]
    `);
    expect(answersSeen()).toEqual([]);

    await send(paddedRequest(MAX_PAYLOAD, { ...fields, id: "at-limit", response_topic: "hostile/reply/at-limit" }));
    expect(await seen.jsonOn("hostile/reply/at-limit")).toEqual({ jsonrpc: "2.0", id: "at-limit", result: {} });
  });

  it("never answers a bad notification and runs no handler for it", async () => {
    const calls: unknown[] = [];
    server.registerHandler("x", (params) => void calls.push(params));
    const bad = [
      "not json",
      "[1]",
      "null",
      JSON.stringify({ jsonrpc: "1.0", method: "x", params: {} }),
      JSON.stringify({ jsonrpc: "2.0", params: {} }),
      JSON.stringify({ jsonrpc: "2.0", method: "x", params: [1], response_topic: "hostile/reply/notification" }),
      paddedRequest(MAX_PAYLOAD + 1, { jsonrpc: "2.0", method: "x", params: {}, response_topic: "hostile/reply/notification" }),
    ];
    for (const payload of bad) await send(payload, NOTIFICATION);
    // Valid, but it names a response topic and an id: a notification is still never answered.
    await send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "x", params: { n: 1 }, response_topic: "hostile/reply/notification" }), NOTIFICATION);
    await send(JSON.stringify({ jsonrpc: "2.0", method: "x", params: { n: 2 } }), NOTIFICATION);
    await vi.waitFor(() => expect(calls).toHaveLength(2), { timeout: 2_000, interval: 10 });
    await expectStillServing();
    expect(calls).toEqual([{ n: 1 }, { n: 2 }]);
    // "[1]" is a batch of one bad entry: that entry is dropped on its own. The parse error's text is V8's.
    expect(dropWarnings().map((line) => line.replace(/Parse error: .* \(notifications/, "Parse error: <V8 message> (notifications"))).toMatchInlineSnapshot(`
      [
        "svc: dropped a notification on svc/notification/x: Parse error: <V8 message> (notifications are never answered)",
        "svc: dropped a batch entry on svc/notification/x: Invalid Request: expected a JSON object, got number (notifications are never answered)",
        "svc: dropped a notification on svc/notification/x: Invalid Request: expected a JSON object, got null (notifications are never answered)",
        "svc: dropped a notification on svc/notification/x: Invalid Request: "jsonrpc" must be "2.0", got string "1.0" (notifications are never answered)",
        "svc: dropped a notification on svc/notification/x: Invalid Request: "method" must be a non-empty string, got missing (notifications are never answered)",
        "svc: dropped a notification on svc/notification/x: Invalid params: "params" must be an object, got an array (notifications are never answered)",
        "svc: dropped a notification on svc/notification/x: Invalid Request: payload of 1025 bytes exceeds the limit of 1024 bytes (notifications are never answered)",
      ]
    `);
    expect(answersSeen()).toEqual([]);
  });

  it("keeps serving through a barrage of 200 mixed hostile messages", async () => {
    type Hostile = { payload: string | Buffer; topic?: string; answer?: number };
    const kinds: ((i: number) => Hostile)[] = [
      () => ({ payload: "{{{" }),
      () => ({ payload: Buffer.from([0xc3, 0x28, 0xa0, 0xa1]) }),
      () => ({ payload: "[]" }),
      (i) => ({ payload: JSON.stringify({ jsonrpc: "2.0", id: i, method: "echo", response_topic: "hostile/#" }) }),
      (i) => ({ payload: JSON.stringify({ jsonrpc: "2.0", id: i, method: "echo", response_topic: 7 }) }),
      (i) => ({ payload: paddedRequest(MAX_PAYLOAD + 10, { jsonrpc: "2.0", id: i, method: "echo", response_topic: `hostile/reply/b${i}` }) }),
      (i) => ({ payload: JSON.stringify({ jsonrpc: "2.0", id: i, method: "echo", params: [], response_topic: `hostile/reply/b${i}` }), answer: -32602 }),
      (i) => ({ payload: JSON.stringify({ jsonrpc: "2.0", id: true, method: "echo", response_topic: `hostile/reply/b${i}` }), answer: -32600 }),
      (i) => ({ payload: JSON.stringify({ id: i, method: "echo", response_topic: `hostile/reply/b${i}` }), answer: -32600 }),
      (i) => ({ payload: JSON.stringify({ jsonrpc: "2.0", id: i, method: "missing", response_topic: `hostile/reply/b${i}` }), answer: -32601 }),
      () => ({ payload: "garbage", topic: NOTIFICATION }),
      // Terminal escapes and a forged log line, which JSON.parse's error message quotes.
      () => ({ payload: "\u001b[2J\n[svc] error: forged line\u0085" }),
      () => ({ payload: JSON.stringify({ jsonrpc: "2.0", method: "x", params: "no" }), topic: NOTIFICATION }),
    ];
    const barrage = Array.from({ length: 200 }, (_, i) => kinds[i % kinds.length]!(i));
    await Promise.all(barrage.map((hostile) => send(hostile.payload, hostile.topic)));
    await expectStillServing();

    const answered = barrage.flatMap((hostile, i) => (hostile.answer === undefined ? [] : [{ topic: `hostile/reply/b${i}`, code: hostile.answer }]));
    const got = answersSeen().map((m) => ({ topic: m.topic, code: (JSON.parse(m.text) as { error: { code: number } }).error.code }));
    expect(got.sort((a, b) => a.topic.localeCompare(b.topic))).toEqual(answered.sort((a, b) => a.topic.localeCompare(b.topic)));
    // What the peer sent reaches the log escaped: no raw control character, no second line.
    expect(log.lines.filter((line) => /[\u0000-\u001f\u007f-\u009f]/.test(line.message))).toEqual([]);
    // The drops are warned about at most 10 times per 10 s; stop() reports the rest as suppressed.
    const dropped = barrage.length - answered.length;
    expect(dropWarnings()).toHaveLength(10);
    await server.stop();
    expect(log.find("warn", new RegExp(`^${dropped - 10} more warnings of this kind suppressed in the last 10 s: dropped requests and notifications`))).toBeDefined();
  });

  it("keeps a client alive through hostile responses on its response topic", async () => {
    const clientLog = recordingLogger();
    const client = await started(broker, {
      agentName: "caller",
      serviceUrls: { svc: "svc", ghost: "ghost" },
      options: { maxPayloadBytes: MAX_PAYLOAD },
      logger: clientLog,
    });
    // Nobody serves "ghost": the peer sees each request, learns its id and answers it by hand.
    const call = (n: number) => {
      const promise = client.sendRequest("ghost", "ping", { n }, { timeoutMs: 10_000 });
      promise.catch(() => undefined); // asserted below; this only keeps an early rejection from being "unhandled"
      return promise;
    };
    const idOf = async (n: number) => {
      const request = await seen.waitFor((m) => m.topic === "ghost/request/ping" && (JSON.parse(m.text) as { params: { n: number } }).params.n === n);
      return (JSON.parse(request.text) as { id: string }).id;
    };
    const calls = [1, 2, 3, 4, 5].map(call);
    const [good, noResult, fractionalCode, stringCode, oldVersion] = await Promise.all([1, 2, 3, 4, 5].map(idOf));
    const respond = (payload: string | Buffer) => peer.publishAsync(client.responseTopic, payload, { qos: 1 });

    for (const garbage of ["}{", "", Buffer.from([0xff, 0x00]), "42", "null", "[]", '"text"']) await respond(garbage);
    await respond(JSON.stringify({ jsonrpc: "2.0", id: "not-pending", result: 1 }));
    await respond(JSON.stringify({ jsonrpc: "2.0", id: { good }, result: 1 }));
    await respond(JSON.stringify({ jsonrpc: "2.0", result: 1 }));
    // Too large: dropped unread, so the call it names keeps waiting for a real answer.
    await respond(paddedRequest(2 * MAX_PAYLOAD, { jsonrpc: "2.0", id: good, result: "too big" }));
    await respond(JSON.stringify({ jsonrpc: "2.0", id: noResult }));
    await respond(JSON.stringify({ jsonrpc: "2.0", id: fractionalCode, error: { code: 1.5, message: "fractional" } }));
    await respond(JSON.stringify({ jsonrpc: "2.0", id: stringCode, error: { code: "-32000", message: "string code" } }));
    await respond(JSON.stringify({ jsonrpc: "1.0", id: oldVersion, result: 1 }));
    const goodAnswer = JSON.stringify({ jsonrpc: "2.0", id: good, result: { fine: true } });
    await respond(goodAnswer);
    // A copy of the same message (a QoS 1 redelivery after a reconnect) is no second answer: no warning.
    await respond(goodAnswer);
    await respond(JSON.stringify({ jsonrpc: "2.0", id: good, result: "duplicate" }));

    await expect(calls[0]).resolves.toEqual({ fine: true });
    const failures = await Promise.all(calls.slice(1).map((promise) => promise.then(() => undefined, (error: unknown) => error)));
    for (const failure of failures) {
      expect(failure).toBeInstanceOf(CommunicationError);
      expect(failure).not.toBeInstanceOf(RpcError);
    }
    expect(failures.map((failure) => (failure as Error).message)).toMatchInlineSnapshot(`
      [
        "Malformed response to ping from ghost: response has neither "result" nor "error"",
        "Malformed response to ping from ghost: response error is not {code: integer, message: string}",
        "Malformed response to ping from ghost: response error is not {code: integer, message: string}",
        "Malformed response to ping from ghost: response "jsonrpc" is string "1.0"",
      ]
    `);

    await expect(client.sendRequest("svc", "echo", { after: "hostile responses" })).resolves.toEqual({ after: "hostile responses" });
    expect(client.started).toBe(true);
    expect(clientLog.find("warn", /dropped a response that is not JSON/)).toBeDefined();
    expect(clientLog.find("warn", new RegExp(`dropped a response of ${2 * MAX_PAYLOAD} bytes \\(limit ${MAX_PAYLOAD}\\)`))).toBeDefined();
    expect(clientLog.find("debug", /dropped a late or unknown response string "not-pending"/)).toBeDefined();
    // The answer with other content is a second answer, warned about once; the identical copy before it was not.
    await vi.waitFor(() => expect(clientLog.lines.filter((line) => line.level === "warn" && /a second answer came to one ping request to ghost/.test(line.message))).toHaveLength(1));
    expect(clientLog.lines.filter((line) => line.level === "error")).toEqual([]);
    await client.stop();
    await expectStillServing();
  });

  // Mosquitto disconnects a client that publishes to a topic deeper than 200 levels; a service configured
  // to allow deeper ones (maxTopicLevels) meets that refusal, which no validation of ours foresees.
  it.runIf(name === "mosquitto")("drops a publish the broker keeps refusing by disconnecting, instead of replaying it forever", async () => {
    const deepLog = recordingLogger();
    await started(broker, { agentName: "deep", options: { maxTopicLevels: 1_000, reconnectPeriodMs: 100 }, logger: deepLog }, { echo: (params) => params });
    await peer.publishAsync("deep/request/echo", JSON.stringify({ jsonrpc: "2.0", id: "deep", method: "echo", params: {}, response_topic: `hostile${"/x".repeat(300)}` }), { qos: 1 });
    await vi.waitFor(() => expect(deepLog.find("warn", /^Dropped a publish to hostile\/x\/x/)).toBeDefined(), { timeout: 20_000, interval: 20 });
    await vi.waitFor(() => expect(deepLog.find("info", /^Reconnected to/)).toBeDefined(), { timeout: 20_000, interval: 20 });
    // Each replay cost one connection: two lost, then it was dropped.
    const lost = deepLog.lines.filter((line) => line.level === "warn" && line.message.startsWith("Lost the connection")).length;
    expect(lost).toBe(2);
    await vi.waitFor(async () => {
      const replyTo = `hostile/deep-ok/${++serial}`;
      await peer.publishAsync("deep/request/echo", JSON.stringify({ jsonrpc: "2.0", id: "after", method: "echo", params: { ok: true }, response_topic: replyTo }), { qos: 1 });
      expect(await seen.jsonOn(replyTo, 1_000)).toEqual({ jsonrpc: "2.0", id: "after", result: { ok: true } });
    }, { timeout: 20_000, interval: 50 });
    expect(deepLog.lines.filter((line) => line.level === "warn" && line.message.startsWith("Lost the connection"))).toHaveLength(2);
  });

  describe.runIf(name === "mosquitto")("from an MQTT 5 peer", () => {
    let v5: MqttClient;
    let v5Seen: Inbox;

    beforeEach(async () => {
      expect(server.protocolVersion).toBe(5);
      v5 = await broker.rawClient({ protocolVersion: 5 });
      v5Seen = inbox(v5);
      await v5.subscribeAsync("hostile/v5/#", { qos: 1 });
    });

    afterEach(() => v5Seen.dispose());

    /** Publish `payload` with Response Topic and Correlation Data properties; return the answer, whose correlation data must match. */
    async function answerToV5(payload: string | Buffer, topic = REQUEST): Promise<unknown> {
      const n = ++serial;
      const replyTo = `hostile/v5/${n}`;
      await v5.publishAsync(topic, payload, { qos: 1, properties: { responseTopic: replyTo, correlationData: Buffer.from(`corr-${n}`) } });
      const answer = await v5Seen.waitFor((m) => m.topic === replyTo);
      expect(answer.packet.properties?.correlationData?.toString("utf8")).toBe(`corr-${n}`);
      return JSON.parse(answer.text);
    }

    it("answers -32700 to the Response Topic property of an unparseable payload", async () => {
      const body = await answerToV5("not json");
      expect(body).toMatchInlineSnapshot({ error: { message: expect.stringMatching(/^Parse error: /) } }, `
        {
          "error": {
            "code": -32700,
            "message": StringMatching /\\^Parse error: /,
          },
          "id": null,
          "jsonrpc": "2.0",
        }
      `);
      expect(await answerToV5(Buffer.from([0xff, 0xfe]))).toMatchObject({ id: null, error: { code: -32700 } });
      expect(await answerToV5("")).toMatchObject({ id: null, error: { code: -32700 } });
      await expectStillServing();
    });

    it("answers -32600 to the Response Topic property of JSON that is not an object, and of an empty batch", async () => {
      const answers: unknown[] = [];
      for (const payload of ["42", '"echo"', "null", "[]"]) answers.push(await answerToV5(payload));
      expect(answers).toMatchInlineSnapshot(`
        [
          {
            "error": {
              "code": -32600,
              "message": "Invalid Request: expected a JSON object, got number",
            },
            "id": null,
            "jsonrpc": "2.0",
          },
          {
            "error": {
              "code": -32600,
              "message": "Invalid Request: expected a JSON object, got string",
            },
            "id": null,
            "jsonrpc": "2.0",
          },
          {
            "error": {
              "code": -32600,
              "message": "Invalid Request: expected a JSON object, got null",
            },
            "id": null,
            "jsonrpc": "2.0",
          },
          {
            "error": {
              "code": -32600,
              "message": "Invalid Request: empty batch",
            },
            "id": null,
            "jsonrpc": "2.0",
          },
        ]
      `);
      await expectStillServing();
    });

    it("answers a batch entry by entry to its Response Topic property, over the entries' own response topics", async () => {
      const replyTo = `hostile/v5/${++serial}`;
      const entry = { jsonrpc: "2.0", method: "echo", response_topic: "hostile/reply/ignored" };
      const batch = [{ ...entry, id: "p1", params: { p: 1 } }, "x", { ...entry, id: "p2", params: 2 }];
      await v5.publishAsync(REQUEST, JSON.stringify(batch), { qos: 1, properties: { responseTopic: replyTo, correlationData: Buffer.from("batch") } });
      expect(JSON.parse((await v5Seen.waitFor((m) => m.topic === replyTo)).text)).toMatchInlineSnapshot(`
        [
          {
            "id": "p1",
            "jsonrpc": "2.0",
            "result": {
              "p": 1,
            },
          },
          {
            "error": {
              "code": -32600,
              "message": "Invalid Request: expected a JSON object, got string",
            },
            "id": null,
            "jsonrpc": "2.0",
          },
          {
            "error": {
              "code": -32602,
              "message": "Invalid params: "params" must be an object, got number 2",
            },
            "id": "p2",
            "jsonrpc": "2.0",
          },
        ]
      `);
      // No entry is an object, so only the property says where to answer.
      const bareTo = `hostile/v5/${++serial}`;
      await v5.publishAsync(REQUEST, "[1, null]", { qos: 1, properties: { responseTopic: bareTo, correlationData: Buffer.from("bare") } });
      expect(JSON.parse((await v5Seen.waitFor((m) => m.topic === bareTo)).text)).toEqual([
        { jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid Request: expected a JSON object, got number" } },
        { jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid Request: expected a JSON object, got null" } },
      ]);
      await expectStillServing();
      expect(v5Seen.messages.map((m) => m.topic)).toEqual([replyTo, bareTo]);
      expect(answersSeen().map((m) => m.topic)).toEqual([replyTo, bareTo]);
    });

    it("answers -32600 to the Response Topic property of an oversized payload", async () => {
      const body = await answerToV5(paddedRequest(2_000, { jsonrpc: "2.0", id: "big", method: "echo", params: {} }));
      expect(body).toMatchInlineSnapshot(`
        {
          "error": {
            "code": -32600,
            "message": "Invalid Request: payload of 2000 bytes exceeds the limit of 1024 bytes",
          },
          "id": null,
          "jsonrpc": "2.0",
        }
      `);
      await expectStillServing();
    });

    it("never answers a notification, even with a Response Topic property", async () => {
      for (const payload of ["not json", "[]", JSON.stringify({ jsonrpc: "2.0", method: "x", params: 1 })]) {
        await v5.publishAsync(NOTIFICATION, payload, { qos: 1, properties: { responseTopic: "hostile/v5/notification", correlationData: Buffer.from("n") } });
      }
      await expectStillServing();
      expect(dropWarnings()).toHaveLength(3);
      expect(v5Seen.messages).toEqual([]);
      expect(answersSeen()).toEqual([]);
    });
  });
});
