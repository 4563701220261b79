/**
 * Streams between mqtt-contracts and a peer over plain paho-mqtt (test/fixtures/python-service/streams.py serves
 * them, stream_call.py calls them), following the protocol in src/wire/jsonrpc/streams.ts: items in order, credit,
 * cancel and the items count, both ways, on the embedded broker and on Mosquitto.
 */
import { setTimeout as sleep } from "node:timers/promises";
import mqtt from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RequestAbortedError, RpcError, type HandlerContext } from "mqtt-contracts";
import { tcpBrokers, type TcpBroker } from "./helpers/brokers.js";
import { Children, within } from "./helpers/child-process.js";
import { started } from "./helpers/communicators.js";
import { failure } from "./helpers/failures.js";
import { python, requirePaho, WAIT_MS } from "./helpers/python-agent.js";

const SERVICE = "test/fixtures/python-service/service.py";
const STREAM_CALL = "test/fixtures/python-service/stream_call.py";

const children = new Children();
beforeAll(requirePaho);
afterEach(() => children.killAll());

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));

describe.each(tcpBrokers)("streams with a paho-mqtt peer, via %s", (_name, start) => {
  let broker: TcpBroker;
  let host: string;

  beforeAll(async () => {
    broker = await start();
    host = new URL(broker.url).hostname;
  });
  afterAll(() => broker?.close());

  describe("an mqtt-contracts caller streams from the Python service", () => {
    /** The Python service on its own prefix, subscribed. */
    async function pythonService(prefix: string) {
      const service = children.start(python, [SERVICE, host, String(broker.port), prefix]);
      await service.waitForStdout(/^ready$/m, WAIT_MS);
      const client = await started(broker.url, { agentName: `${prefix}_caller`, serviceUrls: { py: prefix } });
      return { service, client };
    }

    it("gets the items in order, then the result; the Python side counted them in its answer", async () => {
      const { service, client } = await pythonService("py_stream_order");
      const stream = client.sendStream<{ i: number }, { total: number }>("py", "count", { n: 50 });
      expect(await collect(stream)).toEqual(upTo(50));
      await expect(stream.result).resolves.toEqual({ total: 50 });
      await service.waitForStdout(/^finished \S+ items=50$/m);
      // An empty stream has only the result.
      const empty = client.sendStream("py", "count", { n: 0 });
      expect(await collect(empty)).toEqual([]);
      await expect(empty.result).resolves.toEqual({ total: 0 });
    });

    it("the Python service waits at the caller's credit until rpc.credit grants more", async () => {
      const { service, client } = await pythonService("py_stream_credit");
      const stream = client.sendStream<{ i: number }, { total: number }>("py", "count", { n: 12 }, { credit: 4 });
      const iterator = stream[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toEqual({ i: 0 });
      // One item taken of four: a quarter used, so the caller grants it back (5 in all), and no more: it stops at 5.
      await service.waitForStdout(/^waiting for credit (\S+) after 5 items$/m);
      expect(service.stdout).toMatch(/^credit \S+ \+1$/m);
      const rest: { i: number }[] = [];
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value);
      expect(rest).toEqual(upTo(12).slice(1));
      await expect(stream.result).resolves.toEqual({ total: 12 });
    });

    it("breaking out after 3 items sends rpc.cancel: the Python side stops and says so", async () => {
      const { service, client } = await pythonService("py_stream_cancel");
      const stream = client.sendStream<{ i: number }>("py", "count", { n: 1_000_000, delay_ms: 10 });
      const items: { i: number }[] = [];
      for await (const item of stream) {
        items.push(item);
        if (items.length === 3) break;
      }
      expect(items).toEqual(upTo(3));
      expect(await failure(stream.result)).toBeInstanceOf(RequestAbortedError);
      const [, sent, reason] = await service.waitForStdout(/^cancelled \S+ after (\d+) items: (.*)$/m);
      expect(Number(sent)).toBeGreaterThanOrEqual(3);
      expect(reason).toMatch(/stopped iterating/);
    });

    it("answers a streaming method called without a stream with -32600, and a plain method called as a stream with its result", async () => {
      const { client } = await pythonService("py_stream_plain");
      const error = await failure(client.sendRequest("py", "count", { n: 2 }));
      expect(error).toBeInstanceOf(RpcError);
      expect(error).toMatchObject({ code: -32600, message: expect.stringContaining('count streams its items; call it with a "stream" member') });
      const echo = client.sendStream("py", "echo", { message: "hi" });
      expect(await collect(echo)).toEqual([]);
      await expect(echo.result).resolves.toEqual({ original: "hi", echo: "hi" });
    });

    it("stops a stream whose caller goes quiet for idleMs, and refuses a bad stream member, naming the value", async () => {
      const { service } = await pythonService("py_stream_idle");
      // A bare MQTT caller that asks for a stream, takes its credit of 1 and then says nothing.
      const raw = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
      try {
        const answers: Record<string, unknown>[] = [];
        let onAnswer: (() => void) | undefined;
        raw.on("message", (_topic, payload) => {
          answers.push(JSON.parse(payload.toString()) as Record<string, unknown>);
          onAnswer?.();
        });
        await raw.subscribeAsync("raw_caller/response", { qos: 1 });
        const nextAnswer = (count: number) => within(new Promise<void>((resolve) => (onAnswer = () => answers.length >= count && resolve())), WAIT_MS, `answer ${count}`);
        const request = (id: string, stream: unknown) => JSON.stringify({ jsonrpc: "2.0", id, method: "count", params: { n: 5 }, response_topic: "raw_caller/response", stream });
        let answered = nextAnswer(2);
        await raw.publishAsync("py_stream_idle/request/count", request("quiet", { credit: 1, idleMs: 300 }), { qos: 1 });
        await service.waitForStdout(/^cancelled quiet after 1 items: the caller sent no credit or sign of life for 300 ms \(idleMs\): it is gone$/m);
        await answered;
        expect(answers).toEqual([
          { jsonrpc: "2.0", method: "rpc.item", params: { id: "quiet", seq: 0, item: { i: 0 } } },
          { jsonrpc: "2.0", id: "quiet", error: { code: -32603, message: expect.stringMatching(/^Cancelled: the caller sent no credit/) }, items: 1 },
        ]);
        answered = nextAnswer(3);
        await raw.publishAsync("py_stream_idle/request/count", request("bad", { credit: 0, idleMs: 300 }), { qos: 1 });
        await answered;
        expect(answers[2]).toEqual({ jsonrpc: "2.0", id: "bad", error: { code: -32600, message: 'Invalid Request: "stream.credit" must be an integer from 1 to 65535, got 0' } });
      } finally {
        await raw.endAsync();
      }
    });
  });

  describe("the Python caller streams from an mqtt-contracts server", () => {
    /** Why each `ticks` handler's signal aborted, and whoever waits for the next. */
    let aborts: unknown[];
    let onAbort: (() => void) | undefined;

    async function tsServer(agentName: string) {
      aborts = [];
      await started(broker.url, { agentName }, {
        count: async function* ({ n }: { n: number }) {
          for (let i = 0; i < n; i++) yield { i };
          return { total: n };
        },
        fails: async function* () {
          yield { i: 0 };
          yield { i: 1 };
          throw new RpcError(-32050, "the arm hit something", { data: { at: 2 } });
        },
        ticks: async function* (_params: unknown, context: HandlerContext) {
          context.signal.addEventListener("abort", () => {
            aborts.push(context.signal.reason);
            onAbort?.();
          }, { once: true });
          for (let i = 0; !context.signal.aborted; i++) {
            yield { i };
            await sleep(10, undefined, { signal: context.signal }).catch(() => undefined);
          }
          return { stopped: true };
        },
      });
    }

    const streamCall = (prefix: string, method: string, params: unknown, ...flags: string[]) =>
      children.start(python, [STREAM_CALL, host, String(broker.port), prefix, method, JSON.stringify(params), ...flags]).exit();

    const itemLines = (n: number) => upTo(n).map((item) => `item ${JSON.stringify(item)}\n`).join("");

    it("gets the items in order, then the result, with the items count it checks", async () => {
      await tsServer("ts_stream_order");
      const run = await streamCall("ts_stream_order", "count", { n: 40 });
      expect(run).toMatchObject({ code: 0, stdout: `${itemLines(40)}result {"total":40}\n`, stderr: "" });
    });

    it("a slow consumer with a credit of 2: the server never sends past the credit (the script checks), the items still in order", async () => {
      await tsServer("ts_stream_credit");
      const run = await streamCall("ts_stream_credit", "count", { n: 20 }, "--credit", "2", "--consume-ms", "5");
      expect(run).toMatchObject({ code: 0, stdout: `${itemLines(20)}result {"total":20}\n`, stderr: "" });
    });

    it("gets the items so far, then the error, with the items count", async () => {
      await tsServer("ts_stream_fails");
      const run = await streamCall("ts_stream_fails", "fails", {});
      expect(run.code).toBe(1);
      expect(run.stdout).toBe(`${itemLines(2)}error {"code":-32050,"message":"the arm hit something","data":{"at":2}}\n`);
    });

    it("rpc.cancel from the Python caller aborts the handler's signal", async () => {
      await tsServer("ts_stream_cancel");
      const aborted = new Promise<void>((resolve) => (onAbort = resolve));
      const run = await streamCall("ts_stream_cancel", "ticks", {}, "--cancel-after", "3");
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^${itemLines(3).replace(/[{}]/g, "\\$&")}cancelled after 3 items\n`));
      await within(aborted, WAIT_MS, "the handler's signal aborted");
      expect(String(aborts[0])).toContain("the Python caller wanted only 3 items");
    });
  });
});
