/**
 * The client half of the RPC core: calls in flight, their timeouts and aborts, batching, sending again
 * after a reconnect or a group member's death, and settling answers. Format-neutral: each target's wire
 * format encodes the requests and decodes the answers.
 */
import { randomHex } from "../platform/random.js";
import { CommunicationError, ConfigurationError, RequestTimeoutError, ServiceNotFoundError } from "../errors/errors.js";
import type { Logger } from "../logger.js";
import type { AnswerSink, CallControl, Params, RequestId, SentCall, WireFormat } from "../wire/format.js";
import type { FormatSet } from "../wire/formats.js";
import { describe } from "../wire/values.js";
import type { InboundMessage, Transport } from "../transport/transport.js";
import type { CallStream } from "./call-stream.js";
import { ClientStream } from "./client-stream.js";
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_STREAM_CREDIT } from "./defaults.js";
import type { Membership } from "./membership.js";
import { PendingRequests } from "./pending-requests.js";
import { RequestBatcher, type BatchSettings, type QueuedRequest } from "./request-batcher.js";
import type { RequestOptions, StreamOptions } from "./types.js";

function noop(): void {}

export interface RpcClientDeps {
  agentName: string;
  serviceUrls: Readonly<Record<string, string>>;
  formats: FormatSet;
  membership: () => Membership;
  logger: Logger;
  /** Send each request's deadline (payload, and MQTT 5 Message Expiry Interval). */
  requestExpiry: boolean;
  batching: Record<string, true | BatchSettings> | undefined;
  /** The transport, once started; undefined otherwise. */
  transport(): Transport | undefined;
  /** Why this communicator cannot send now, or undefined when it can. */
  notReady(): string | undefined;
}

export class RpcClient implements AnswerSink {
  /** Requests in flight; one whose caller gave up has its publish withdrawn if the broker has not taken it yet. */
  private readonly pending: PendingRequests;
  private readonly batchers = new Map<string, RequestBatcher>();
  /** Streaming calls in flight, by id. */
  private readonly streams = new Map<string, ClientStream>();
  private warnedDuplicates: Set<string> | undefined;

  constructor(private readonly deps: RpcClientDeps) {
    this.pending = new PendingRequests(
      `${randomHex(4)}-`,
      (ticket) => deps.transport()?.withdraw?.(ticket),
      (target, method) => this.noAnswerHint(target, method),
      (id, target, why, timedOut) => this.sendControl(id, target, { cancel: why, timeout: timedOut }),
    );
    for (const [service, batch] of Object.entries(deps.batching ?? {})) {
      const prefix = deps.serviceUrls[service];
      if (prefix === undefined) throw new ConfigurationError(`batching.${service}: ${JSON.stringify(service)} is not in serviceUrls of ${deps.agentName}`);
      const format = deps.formats.of(service);
      if (format.batchTopic === undefined) throw new ConfigurationError(`batching.${service}: ${service} is called in the ${format.title} format, which has no batches`);
      this.batchers.set(service, new RequestBatcher(batch === true ? {} : batch, (entries) => this.sendBatch(service, prefix, format, entries)));
    }
  }

  /** Calls in flight. */
  get inFlight(): number {
    return this.pending.size;
  }

  private noAnswerHint(target: string, method: string): string {
    const format = this.deps.formats.of(target);
    const sentTo = format.requestTopic(target, this.deps.serviceUrls[target] ?? target, method, undefined);
    if (this.deps.transport()?.connected === false) return `: the connection to the broker is down (reconnecting); the request to ${sentTo} and its answer may be waiting for it`;
    return `: no response came. Is a service subscribed to ${sentTo}? A broker whose ACL denies this client the publish, or the subscription to ${format.answersAt(target)}, may drop the messages without an error (Mosquitto does over MQTT 3.1.1)`;
  }

  request<R>(targetService: string, method: string, params: Params, options: RequestOptions): Promise<R> {
    const transport = this.requireStarted(targetService);
    const prefix = this.resolveService(targetService);
    const format = this.deps.formats.of(targetService);
    format.checkMethod(method);
    const timeoutMs = checkedTimeout(options.timeoutMs, targetService);
    const id = this.pending.nextId();
    const deadline = this.deps.requestExpiry ? Date.now() + timeoutMs : undefined;
    const payload = encode(targetService, () => format.encodeRequest(id, targetService, method, params, deadline));
    const result = this.pending.add(id, { target: targetService, method, timeoutMs, signal: options.signal });
    if (!this.pending.has(id)) return result as Promise<R>; // the signal was already aborted: publish nothing
    const batcher = this.batchers.get(targetService);
    if (batcher) {
      batcher.add({ id, body: payload, timeoutMs });
      return result as Promise<R>;
    }
    const topic = format.requestTopic(targetService, prefix, method, this.deps.membership().instanceFor(prefix));
    this.publishRequest(transport, targetService, topic, { id, body: payload, timeoutMs });
    return result as Promise<R>;
  }

  /** A streaming call: see `Communicator.sendStream`. Throws for a problem found before sending. */
  stream(targetService: string, method: string, params: Params, options: StreamOptions): CallStream<unknown, unknown> {
    const transport = this.requireStarted(targetService);
    const prefix = this.resolveService(targetService);
    const format = this.deps.formats.of(targetService);
    if (!format.streams) throw new ConfigurationError(`${targetService} is called in the ${format.title} format, which has no streams`, { target: targetService });
    format.checkMethod(method);
    const timeoutMs = checkedTimeout(options.timeoutMs, targetService);
    const credit = options.credit ?? DEFAULT_STREAM_CREDIT;
    const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    if (!(Number.isInteger(credit) && credit >= 1 && credit <= 65_535)) throw new ConfigurationError(`credit must be an integer from 1 to 65535, got ${describe(credit)}`, { target: targetService });
    if (!(idleMs >= 1 && idleMs <= 2_147_483_647)) throw new ConfigurationError(`idleTimeoutMs must be a positive number of milliseconds up to 2^31-1, got ${describe(idleMs)}`, { target: targetService });
    const id = this.pending.nextId();
    const deadline = this.deps.requestExpiry ? Date.now() + timeoutMs : undefined;
    const payload = encode(targetService, () => format.encodeRequest(id, targetService, method, params, deadline, { credit, idleMs }));
    const result = this.pending.add(id, { target: targetService, method, timeoutMs, signal: options.signal });
    const stream = new ClientStream(result, credit, idleMs, {
      name: method,
      target: targetService,
      grant: (granted) => this.sendControl(id, targetService, { granted }),
      fail: (error) => {
        if (this.pending.reject(id, error)) this.sendControl(id, targetService, { cancel: error instanceof Error ? error.message : String(error), timeout: error instanceof RequestTimeoutError });
      },
    });
    const end = (error?: unknown) => {
      this.streams.delete(id);
      stream.end(error);
    };
    result.then(() => end(), end);
    if (!this.pending.has(id)) return stream.queue; // the signal was already aborted: publish nothing
    this.streams.set(id, stream);
    const topic = format.requestTopic(targetService, prefix, method, this.deps.membership().instanceFor(prefix));
    this.publishRequest(transport, targetService, topic, { id, body: payload, timeoutMs });
    return stream.queue;
  }

  /** Tell the server of call `id` that its caller gave up, or grants more credit (formats with streams; others cannot carry it). */
  private sendControl(id: string, target: string, control: CallControl): void {
    const transport = this.deps.transport();
    const format = this.deps.formats.of(target);
    if (transport === undefined || format.control === undefined || this.deps.notReady() !== undefined) return;
    const { topic, payload } = format.control(target, this.deps.serviceUrls[target] ?? target, id, control);
    transport.publish(topic, payload).catch(noop);
  }

  async notify(targetService: string, method: string, params: Params): Promise<void> {
    const transport = this.requireStarted(targetService);
    const prefix = this.resolveService(targetService);
    const format = this.deps.formats.of(targetService);
    format.checkMethod(method);
    const { topic, payload } = encode(targetService, () => format.notification(targetService, prefix, method, params));
    try {
      await transport.publish(topic, payload);
    } catch (error) {
      throw CommunicationError.from(error, { target: targetService });
    }
  }

  /**
   * Publish one request; with MQTT 5 (and `requestExpiry`) it also carries the Message Expiry
   * Interval, which gives the server the caller's deadline. Nothing else: the payload names where the
   * answer goes and its id correlates, and every property costs on each hop (measured on Mosquitto: any
   * one property ~14 µs per message one way; the Response Topic property ~3 % of throughput at 64 in
   * flight). Servers still honour Response Topic and Correlation Data when other MQTT 5 callers send them.
   */
  private publishRequest(transport: Transport, target: string, topic: string, { id, body, timeoutMs }: QueuedRequest): void {
    const properties = this.deps.requestExpiry && transport.supportsProperties ? { messageExpiryInterval: Math.ceil(timeoutMs / 1000) } : undefined;
    transport.publish(topic, body, properties, this.pending.ticket(id)).catch((error: unknown) => this.pending.reject(id, CommunicationError.from(error, { target })));
    this.pending.remember(id, topic, body);
  }

  /** Publish queued requests to `target`: alone as a plain request, together as one batch. */
  private sendBatch(target: string, prefix: string, format: WireFormat, queued: QueuedRequest[]): void {
    const transport = this.deps.transport();
    // Calls that timed out or were aborted while queued are not sent at all.
    const entries = queued.filter((entry) => this.pending.has(entry.id));
    if (entries.length === 0 || transport === undefined) return;
    if (entries.length === 1) {
      const entry = entries[0]!;
      this.publishRequest(transport, target, format.requestTopic(target, prefix, this.pending.describe(entry.id)!.method, this.deps.membership().instanceFor(prefix)), entry);
      return;
    }
    const properties = this.deps.requestExpiry && transport.supportsProperties
      ? { messageExpiryInterval: Math.ceil(Math.max(...entries.map((entry) => entry.timeoutMs)) / 1000) }
      : undefined;
    transport.publish(format.batchTopic!(prefix), format.joinReplies!(entries.map((entry) => entry.body)), properties).catch((error: unknown) => {
      for (const entry of entries) this.pending.reject(entry.id, CommunicationError.from(error, { target }));
    });
  }

  /**
   * An instance of a target's group died (its Last Will cleared its record without it leaving first): the
   * calls sent to its request topics (under `requestBase`) go to another member now, instead of waiting out
   * their timeouts.
   */
  instanceLost(prefix: string, instance: string, requestBase: string): void {
    const sent = this.resend((topic, method, _acknowledged, target) =>
      topic === requestBase || (topic.startsWith(requestBase) && topic.charCodeAt(requestBase.length) === 47)
        ? this.deps.formats.of(target).requestTopic(target, prefix, method, this.deps.membership().instanceFor(prefix))
        : undefined,
    );
    if (sent > 0) this.deps.logger.warn(`${this.deps.agentName}: instance ${instance} of ${prefix} is gone (its Last Will cleared its record) with ${sent} call(s) unanswered; sent them to the other instances`);
  }

  /**
   * After a reconnect: calls in flight that the broker had taken go again, since a caller keeps a clean session
   * and their answers may have been lost with the connection. A server that already ran one answers it from
   * its dedup cache without running it again, and a second copy of an answer is dropped as a copy.
   */
  resendInFlight(): void {
    const sent = this.resend((topic, _method, acknowledged) => (acknowledged ? topic : undefined));
    if (sent > 0) this.deps.logger.info(`${this.deps.agentName}: sent ${sent} call(s) in flight again after the reconnect; a server that already ran one answers it from its dedup cache`);
  }

  /** Publish remembered calls again where `retarget` says (see `PendingRequests.resend`). */
  private resend(retarget: (topic: string, method: string, acknowledged: boolean, target: string) => string | undefined): number {
    const transport = this.deps.transport();
    if (transport === undefined || this.deps.notReady() !== undefined) return 0;
    return this.pending.resend(retarget, (id, topic, body) => {
      transport.publish(topic, body, undefined, this.pending.ticket(id)).catch((error: unknown) => this.pending.reject(id, CommunicationError.from(error, { target: topic })));
    });
  }

  /** Take the answer(s) `message` carries, in `format`. */
  receive(message: InboundMessage, format: WireFormat): void {
    try {
      format.readAnswers(message, this);
    } catch (error) {
      this.deps.logger.error(`${this.deps.agentName}: failed to handle an answer on ${message.topic}`, { error });
    }
  }

  expects(id: RequestId): boolean {
    return this.pending.has(id);
  }

  sent(id: RequestId): SentCall {
    return this.pending.describe(id)!;
  }

  settle(id: RequestId, outcome: "resolve" | "reject", value: unknown, fingerprint?: number, items?: number): void {
    const gap = items === undefined ? undefined : this.streams.get(id as string)?.gap(items);
    if (gap !== undefined) this.pending.settleAnswer(id, "reject", gap, fingerprint);
    else this.pending.settleAnswer(id, outcome, value, fingerprint);
  }

  item(id: RequestId, seq: number, value: unknown): void {
    // Items of a call no longer in flight (cancelled, timed out) are late: dropped.
    this.streams.get(id as string)?.item(seq, value);
  }

  unexpected(id: RequestId | null, fingerprint: number): void {
    const answered = id === null ? undefined : this.pending.answeredBefore(id, fingerprint);
    if (answered === undefined) this.deps.logger.debug(`${this.deps.agentName}: dropped a late or unknown response ${describe(id)}`);
    else if (!answered.copy) this.warnDuplicate(answered.target, answered.method);
  }

  /** Reject every call in flight (the communicator stops) and drop queued batches. */
  cancelAll(): void {
    this.pending.rejectAll((target, method) => new CommunicationError(`Request ${method} to ${target} was cancelled: ${this.deps.agentName} stopped`, { target }));
    for (const batcher of this.batchers.values()) batcher.clear();
  }

  /** The topic prefix of `targetService`, or `ServiceNotFoundError`. */
  resolveService(targetService: string): string {
    const prefix = Object.hasOwn(this.deps.serviceUrls, targetService) ? this.deps.serviceUrls[targetService] : undefined;
    if (prefix === undefined) {
      const known = Object.keys(this.deps.serviceUrls);
      throw new ServiceNotFoundError(
        `Service ${JSON.stringify(targetService)} is not in serviceUrls of ${this.deps.agentName} (known: ${known.length ? known.join(", ") : "none"})`,
        { target: targetService },
      );
    }
    return prefix;
  }

  /** A second answer to one request: warn once per target, naming the likely cause. */
  private warnDuplicate(target: string, method: string): void {
    const warned = (this.warnedDuplicates ??= new Set());
    if (warned.has(target) || warned.size >= 1_000) return;
    warned.add(target);
    const prefix = this.deps.serviceUrls[target] ?? target;
    const instances = this.deps.membership().instances(prefix);
    const seen = instances.length > 0 ? ` (instances seen: ${instances.map((record) => `${record.instance}${record.group === null ? "" : ` in group ${record.group}`}`).join(", ")})` : "";
    this.deps.logger.warn(
      `${this.deps.agentName}: a second answer came to one ${method} request to ${target}: ${this.deps.formats.of(target).duplicateCause(target, prefix, seen)}, so each request runs on all of them. Give them the same sharedGroup, or stop the extra ones`,
    );
  }

  private requireStarted(target: string): Transport {
    const why = this.deps.notReady();
    const transport = this.deps.transport();
    if (why !== undefined || transport === undefined) throw new CommunicationError(`Cannot send to ${target}: the communicator of ${this.deps.agentName} is ${why ?? "not connected"}, not started`, { target });
    return transport;
  }
}

/** A call's `timeoutMs`, or its default; `ConfigurationError` naming a bad one. */
function checkedTimeout(timeoutMs: number = DEFAULT_REQUEST_TIMEOUT_MS, target: string): number {
  if (!(timeoutMs > 0 && timeoutMs <= 2_147_483_647)) throw new ConfigurationError(`timeoutMs must be a positive number of milliseconds up to 2^31-1, got ${describe(timeoutMs)}`, { target });
  return timeoutMs;
}

function encode<T>(target: string, encode: () => T): T {
  try {
    return encode();
  } catch (error) {
    throw new CommunicationError(`Params for ${target} cannot be encoded as JSON: ${(error as Error).message}`, { target, cause: error });
  }
}
