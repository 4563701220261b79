/**
 * A flood measured from outside: a plain mqtt.js client publishes `requests` JSON-RPC requests at QoS 1 to
 * the flood fixture's slow method, without a `deadline` (as Python OpenMAS peers send them), and counts
 * every answer by id. The server runs in a process of its own (test/fixtures/flood/server.ts), which
 * reports its memory, its handler runs and its lost connections.
 */
import { once } from "node:events";
import mqtt from "mqtt";
import type { Child, Children } from "./child-process.js";

export interface FloodOptions {
  /** The broker, as the server and the caller reach it. */
  url: string;
  requests: number;
  /** Communicator options of the server, and the fixture's `handlerMs`. */
  server: Record<string, unknown>;
  /** How long to wait for every request to be answered. */
  timeoutMs: number;
}

export interface FloodFigures {
  requests: number;
  /** Requests answered at least once (by a result or an error). */
  answered: number;
  /** Requests never answered within `timeoutMs`. */
  lost: number;
  /** Answers beyond the first, summed over requests. */
  duplicates: number;
  results: number;
  /** Answers with the Overloaded code (-32001). */
  overloaded: number;
  /** Other error answers, by code. */
  otherErrors: Record<string, number>;
  /** Handler runs of a request that had run before, as the server counted them. */
  reruns: number;
  /** Connections the server lost. */
  serverDrops: number;
  maxRunning: number;
  rssIdle: number;
  rssPeak: number;
  /** From the moment the broker took the request that filled the handlers and the queue, to the first Overloaded answer; undefined if none came. */
  firstOverloadedMs: number | undefined;
  /** From the first publish to the last first answer. */
  elapsedMs: number;
}

interface ServerSample {
  rss: number;
  running: number;
  maxRunning: number;
  rerun: number;
  drops: number;
  started: number;
}

function samples(server: Child): ServerSample[] {
  return server.stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as ServerSample);
}

/** The first sample printed from now on that `accept` takes; rejects after `timeoutMs`. */
async function nextSample(server: Child, accept: (sample: ServerSample) => boolean, timeoutMs: number): Promise<ServerSample> {
  const end = Date.now() + timeoutMs;
  let from = samples(server).length;
  while (Date.now() < end) {
    const stdout = server.process.stdout!;
    const more = once(stdout, "data", { signal: AbortSignal.timeout(Math.max(1, end - Date.now())) }).catch(() => undefined);
    await more;
    const all = samples(server);
    const found = all.slice(from).find(accept);
    if (found !== undefined) return found;
    from = all.length;
  }
  throw new Error(`the flood server printed no such sample within ${timeoutMs} ms: ${server.stdout.slice(-2_000)}`);
}

/** Start the fixture server; resolves once it serves and has reported a few idle samples. */
export async function startFloodServer(children: Children, url: string, options: Record<string, unknown>): Promise<Child> {
  const server = children.startTs("test/fixtures/flood/server.ts", [url, JSON.stringify(options)]);
  await server.waitForStdout(/^ready$/m, 60_000);
  await server.waitForStdout(/^\{.*\n\{.*\n\{.*\n/m, 10_000);
  return server;
}

export async function flood(children: Children, options: FloodOptions): Promise<FloodFigures> {
  const server = await startFloodServer(children, options.url, options.server);
  const agentName = (options.server.agentName as string | undefined) ?? "flood";
  const idle = samples(server).at(-1)!.rss;
  const caller = await mqtt.connectAsync(options.url, { protocolVersion: 5, clean: true, clientId: `flood-caller-${process.pid}`, reconnectPeriod: 0 });
  const responseTopic = `flood_caller/response/${process.pid}`;
  await caller.subscribeAsync(responseTopic, { qos: 1 });
  const answers = new Map<number, number>();
  const figures = { results: 0, overloaded: 0, otherErrors: {} as Record<string, number> };
  let firstOverloadedAt: number | undefined;
  let allAnswered: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allAnswered = resolve));
  caller.on("message", (_topic, payload) => {
    const answer = JSON.parse(payload.toString()) as { id: string; result?: unknown; error?: { code: number } };
    const n = Number(answer.id.slice(1));
    const count = (answers.get(n) ?? 0) + 1;
    answers.set(n, count);
    if (count > 1) return;
    if (answer.error === undefined) figures.results++;
    else if (answer.error.code === -32001) {
      figures.overloaded++;
      firstOverloadedAt ??= performance.now();
    } else figures.otherErrors[answer.error.code] = (figures.otherErrors[answer.error.code] ?? 0) + 1;
    if (answers.size === options.requests) allAnswered();
  });

  // Requests leave in order; the one that fills the handlers and the queue is number capacity + 1.
  const capacity = ((options.server.maxConcurrentHandlers as number | undefined) ?? 1024) + ((options.server.maxQueuedRequests as number | undefined) ?? 256);
  let filledAt: number | undefined;
  const began = performance.now();
  let lastFirstAnswer = began;
  const publishes: Promise<unknown>[] = [];
  for (let n = 0; n < options.requests; n++) {
    const body = JSON.stringify({ jsonrpc: "2.0", id: `r${n}`, method: "slow", params: { n }, response_topic: responseTopic });
    const published = caller.publishAsync(`${agentName}/request/slow`, body, { qos: 1 });
    if (n === capacity) void published.then(() => (filledAt = performance.now()));
    publishes.push(published);
  }
  await Promise.all(publishes);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, options.timeoutMs)))]);
  clearTimeout(timer);
  lastFirstAnswer = performance.now();
  // A second copy of an answer would come before the server is idle again: wait for that, and one more sample.
  await nextSample(server, (sample) => sample.running === 0, 60_000);
  await nextSample(server, () => true, 10_000);
  await caller.endAsync();
  const all = samples(server);
  const last = all.at(-1)!;
  let duplicates = 0;
  for (const count of answers.values()) duplicates += count - 1;
  return {
    requests: options.requests,
    answered: answers.size,
    lost: options.requests - answers.size,
    duplicates,
    ...figures,
    reruns: last.rerun,
    serverDrops: last.drops,
    maxRunning: last.maxRunning,
    rssIdle: idle,
    rssPeak: Math.max(...all.map((sample) => sample.rss)),
    firstOverloadedMs: firstOverloadedAt === undefined || filledAt === undefined ? undefined : firstOverloadedAt - filledAt,
    elapsedMs: lastFirstAnswer - began,
  };
}
