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

export interface ServerSample {
  rss: number;
  running: number;
  maxRunning: number;
  rerun: number;
  drops: number;
  started: number;
}

export function samples(server: Child): ServerSample[] {
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

/**
 * A plain mqtt.js client that sends JSON-RPC requests numbered 0, 1, 2, … to `<prefix>/request/<method>`
 * (params `{ n }`, no deadline) and counts every answer by number.
 */
export class RawCaller {
  readonly answers = new Map<number, number>();
  /** The first answer's payload to each request, to tell a copy of it from a different answer. */
  private readonly firstAnswers = new Map<number, string>();
  /** Answers beyond the first that are not byte for byte the first one (our clients drop copies silently). */
  differentDuplicates = 0;
  results = 0;
  overloaded = 0;
  readonly otherErrors: Record<string, number> = {};
  firstOverloadedAt: number | undefined;
  private sent = 0;
  private waiters: { count: number; resolve: () => void }[] = [];

  private constructor(
    private readonly client: mqtt.MqttClient,
    private readonly responseTopic: string,
  ) {
    client.on("message", (_topic, payload) => this.onAnswer(payload));
  }

  static async connect(url: string, name = `raw_caller_${process.pid}_${Math.random().toString(16).slice(2, 8)}`): Promise<RawCaller> {
    const client = await mqtt.connectAsync(url, { protocolVersion: 5, clean: true, clientId: name, reconnectPeriod: 0 });
    const responseTopic = `${name}/response/x`;
    await client.subscribeAsync(responseTopic, { qos: 1 });
    return new RawCaller(client, responseTopic);
  }

  /**
   * Publish `count` more requests, with a payload `deadline` (ms since the epoch) if given; resolves with each
   * one's publish promise (acknowledged by the broker).
   */
  send(prefix: string, method: string, count: number, deadline?: number): Promise<unknown>[] {
    const publishes: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const n = this.sent++;
      const body = JSON.stringify({ jsonrpc: "2.0", id: `r${n}`, method, params: { n }, response_topic: this.responseTopic, ...(deadline === undefined ? {} : { deadline }) });
      publishes.push(this.client.publishAsync(`${prefix}/request/${method}`, body, { qos: 1 }));
    }
    return publishes;
  }

  get requests(): number {
    return this.sent;
  }

  /** Answers beyond the first, summed over requests. */
  get duplicates(): number {
    let duplicates = 0;
    for (const count of this.answers.values()) duplicates += count - 1;
    return duplicates;
  }

  /** Resolves once `count` distinct requests have been answered, or after `timeoutMs` (then check `answers.size`). */
  async answered(count: number, timeoutMs: number): Promise<void> {
    if (this.answers.size >= count) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => this.waiters.push({ count, resolve })), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  close(): Promise<void> {
    return this.client.endAsync();
  }

  private onAnswer(payload: Buffer): void {
    const text = payload.toString();
    const answer = JSON.parse(text) as { id: string; result?: unknown; error?: { code: number } };
    const n = Number(answer.id.slice(1));
    const count = (this.answers.get(n) ?? 0) + 1;
    this.answers.set(n, count);
    if (count > 1) {
      if (this.firstAnswers.get(n) !== text) this.differentDuplicates++;
      return;
    }
    this.firstAnswers.set(n, text);
    if (answer.error === undefined) this.results++;
    else if (answer.error.code === -32001) {
      this.overloaded++;
      this.firstOverloadedAt ??= performance.now();
    } else this.otherErrors[answer.error.code] = (this.otherErrors[answer.error.code] ?? 0) + 1;
    this.waiters = this.waiters.filter((waiter) => {
      if (this.answers.size < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }
}

/** The server's figures once it has been idle for a sample: a second copy of an answer would come before that. */
export async function settledSamples(server: Child): Promise<ServerSample[]> {
  await nextSample(server, (sample) => sample.running === 0, 60_000);
  await nextSample(server, () => true, 10_000);
  return samples(server);
}

export async function flood(children: Children, options: FloodOptions): Promise<FloodFigures> {
  const server = await startFloodServer(children, options.url, options.server);
  const agentName = (options.server.agentName as string | undefined) ?? "flood";
  const idle = samples(server).at(-1)!.rss;
  const caller = await RawCaller.connect(options.url);
  // Requests leave in order; the one that fills the handlers and the queue is number capacity + 1.
  const capacity = ((options.server.maxConcurrentHandlers as number | undefined) ?? 1024) + ((options.server.maxQueuedRequests as number | undefined) ?? 256);
  let filledAt: number | undefined;
  const began = performance.now();
  const publishes = caller.send(agentName, "slow", options.requests);
  void publishes[capacity]?.then(() => (filledAt = performance.now()));
  await Promise.all(publishes);
  await caller.answered(options.requests, options.timeoutMs);
  const elapsedMs = performance.now() - began;
  const all = await settledSamples(server);
  await caller.close();
  const last = all.at(-1)!;
  return {
    requests: options.requests,
    answered: caller.answers.size,
    lost: options.requests - caller.answers.size,
    duplicates: caller.duplicates,
    results: caller.results,
    overloaded: caller.overloaded,
    otherErrors: caller.otherErrors,
    reruns: last.rerun,
    serverDrops: last.drops,
    maxRunning: last.maxRunning,
    rssIdle: idle,
    rssPeak: Math.max(...all.map((sample) => sample.rss)),
    firstOverloadedMs: caller.firstOverloadedAt === undefined || filledAt === undefined ? undefined : caller.firstOverloadedAt - filledAt,
    elapsedMs,
  };
}
