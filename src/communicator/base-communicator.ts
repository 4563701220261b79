import { randomBytes } from "node:crypto";
import { CommunicationError, ConfigurationError, ServiceNotFoundError } from "../errors/errors.js";
import { errorFromWire } from "../errors/wire.js";
import { createConsoleLogger, type Logger } from "../logger.js";
import { decodeResponse, describe, encodeNotification, encodeRequest, type Params } from "../wire/jsonrpc.js";
import { assertName, assertPrefix, DEFAULT_MAX_TOPIC_LEVELS } from "../wire/names.js";
import { classifyTopic, notificationFilter, notificationTopic, requestBatchTopic, requestFilter, requestTopic, responseTopic } from "../wire/topics.js";
import { readPayload, type UnreadablePayload } from "../wire/payload.js";
import { fnv1a } from "../wire/fnv1a.js";
import { safeLogger } from "../log/safe-logger.js";
import { WarningLimiter } from "../log/warning-limiter.js";
import { DedupCache } from "./dedup-cache.js";
import { Dispatcher } from "./dispatcher.js";
import { RequestBatcher, type QueuedRequest } from "./request-batcher.js";
import type { BaseCommunicatorSettings } from "./settings.js";
import { PendingRequests } from "./pending-requests.js";
import { OpenMasEndpoint } from "./openmas-endpoint.js";
import type { InboundControl, InboundMessage, LastWill, MessageSink, Transport } from "./transport.js";
import type { Communicator, CommunicatorInit, Handler, HandlerOptions, RequestOptions } from "./types.js";
import { HandlerCatalog } from "../instances/handler-catalog.js";
import { DEFAULT_SHARE_PROBE_MS, Presence } from "../instances/presence.js";
import { ServiceStats } from "../instances/stats.js";
import type { InstanceRecord } from "../instances/record.js";
import { packageVersion } from "../package-info.js";

import {
  CLOSE_TIMEOUT_MS,
  DEFAULT_CLOCK_SKEW_TOLERANCE_MS,
  DEFAULT_MAX_CONCURRENT_HANDLERS,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_QUEUED_REQUESTS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SESSION_EXPIRY_SECONDS,
  DEFAULT_STOP_GRACE_MS,
} from "./defaults.js";

type State = "idle" | "starting" | "started" | "stopping" | "stopped";

/**
 * The RPC core over a topic transport: JSON-RPC 2.0 requests with one response topic per instance,
 * notifications, timeouts, aborts and handler dispatch. A communicator type supplies only
 * `openTransport`; `MqttCommunicator` and `MemoryCommunicator` are two.
 */
export abstract class BaseCommunicator implements Communicator {
  readonly agentName: string;
  readonly serviceUrls: Readonly<Record<string, string>>;
  readonly topicPrefix: string;
  readonly clientId: string;
  /** `<topicPrefix>/response/<clientId>`: subscribed once at start; all responses arrive here. */
  readonly responseTopic: string;
  protected readonly logger: Logger;
  protected readonly maxPayloadBytes: number;
  private readonly stopGraceMs: number;
  /** Requests in flight; one whose caller gave up has its publish withdrawn if the broker has not taken it yet. */
  private readonly pending = new PendingRequests(
    `${randomBytes(4).toString("hex")}-`,
    (ticket) => this.transport?.withdraw?.(ticket),
    (target, method) => {
      const openmas = this.openmas?.uses(target) ? this.openmas : undefined;
      const sentTo = openmas ? openmas.requestTopic(target, method) : requestTopic(this.serviceUrls[target] ?? target, method);
      const answers = openmas ? openmas.filters()[0] : this.responseTopic;
      if (this.transport?.connected === false) return `: the connection to the broker is down (reconnecting); the request to ${sentTo} and its answer may be waiting for it`;
      return `: no response came. Is a service subscribed to ${sentTo}? A broker whose ACL denies this client the publish, or the subscription to ${answers}, may drop the messages without an error (Mosquitto does over MQTT 3.1.1)`;
    },
  );
  private readonly batchers = new Map<string, RequestBatcher>();
  private readonly checkedMethods = new Set<string>();
  private readonly dispatcher: Dispatcher;
  private readonly requestExpiry: boolean;
  private readonly maxConcurrentHandlers: number;
  private readonly overload: "queue" | "reject";
  private readonly sessionExpirySeconds: number | undefined;
  private readonly group: string | undefined;
  /** Whether `clientId` was given, not made up: only such a session can be found again after a restart. */
  protected readonly clientIdGiven: boolean;
  private readonly maxQueuedRequests: number;
  /** Warnings about bad input from the network, rate-limited per kind. */
  private readonly warnings: WarningLimiter;
  /** What the handlers are, for `rpc.discover` and the discovery record. */
  private readonly catalog: HandlerCatalog;
  /** This instance among the others: record, group routing, and the instances of its targets. */
  private readonly presence: Presence;
  private readonly stats: ServiceStats;
  /** OpenMAS's built-in format, when this agent serves it or calls a service in it. */
  private readonly openmas: OpenMasEndpoint | undefined;
  private startedAt = 0;
  private warnedDuplicates: Set<string> | undefined;
  private state: State = "idle";
  private transport: Transport | undefined;
  private stopping: Promise<void> | undefined;

  constructor(init: CommunicatorInit<unknown>, settings: BaseCommunicatorSettings = {}) {
    assertPrefix("agent name", init.agentName);
    this.agentName = init.agentName;
    const serviceUrls = init.serviceUrls ?? {};
    for (const [service, prefix] of Object.entries(serviceUrls)) assertPrefix(`serviceUrls.${service}`, prefix);
    this.serviceUrls = Object.freeze({ ...serviceUrls });
    this.topicPrefix = settings.topicPrefix ?? init.agentName;
    assertPrefix("topicPrefix", this.topicPrefix);
    this.clientIdGiven = settings.clientId !== undefined;
    this.clientId = settings.clientId ?? `${init.agentName}-${randomBytes(4).toString("hex")}`;
    assertName("clientId", this.clientId);
    this.responseTopic = responseTopic(this.topicPrefix, this.clientId);
    this.maxPayloadBytes = positive("maxPayloadBytes", settings.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES);
    this.stopGraceMs = nonNegative("stopGraceMs", settings.stopGraceMs ?? DEFAULT_STOP_GRACE_MS);
    // Every line is escaped and bounded: log messages quote topics, methods and ids from the network.
    this.logger = safeLogger(init.logger ?? createConsoleLogger(`mqtt-contracts:${init.agentName}`));
    this.warnings = new WarningLimiter(this.logger);
    this.requestExpiry = settings.requestExpiry ?? true;
    this.maxConcurrentHandlers = positiveInteger("maxConcurrentHandlers", settings.maxConcurrentHandlers ?? DEFAULT_MAX_CONCURRENT_HANDLERS);
    this.overload = settings.overload ?? "queue";
    if (this.overload !== "queue" && this.overload !== "reject") throw new ConfigurationError(`overload must be "queue" or "reject", got ${describe(this.overload)}`);
    this.maxQueuedRequests = settings.maxQueuedRequests ?? DEFAULT_MAX_QUEUED_REQUESTS;
    this.sessionExpirySeconds = settings.sessionExpirySeconds;
    if (this.sessionExpirySeconds !== undefined && !(Number.isInteger(this.sessionExpirySeconds) && this.sessionExpirySeconds >= 0 && this.sessionExpirySeconds <= 4_294_967_295)) {
      throw new ConfigurationError(`sessionExpirySeconds must be an integer from 0 to 4294967295, got ${describe(this.sessionExpirySeconds)}`);
    }
    this.group = settings.sharedGroup;
    if (!(Number.isInteger(this.maxQueuedRequests) && this.maxQueuedRequests >= 0 && this.maxQueuedRequests <= 65_535)) throw new ConfigurationError(`maxQueuedRequests must be an integer from 0 to 65535, got ${describe(this.maxQueuedRequests)}`);
    for (const [service, batch] of Object.entries(settings.batching ?? {})) {
      const prefix = this.serviceUrls[service];
      if (prefix === undefined) throw new ConfigurationError(`batching.${service}: ${JSON.stringify(service)} is not in serviceUrls of ${init.agentName}`);
      const batcher = new RequestBatcher(batch === true ? {} : batch, (entries) => this.sendBatch(service, prefix, entries));
      if (!(Number.isInteger(batcher.maxBatchSize) && batcher.maxBatchSize >= 1)) throw new ConfigurationError(`batching.${service}.maxBatchSize must be a positive integer, got ${describe(batcher.maxBatchSize)}`);
      if (!(batcher.maxWaitMs >= 0 && batcher.maxWaitMs <= 60_000)) throw new ConfigurationError(`batching.${service}.maxWaitMs must be between 0 and 60000, got ${describe(batcher.maxWaitMs)}`);
      this.batchers.set(service, batcher);
    }
    const library = `mqtt-contracts@${packageVersion()}`;
    this.catalog = new HandlerCatalog(this.agentName, library);
    this.stats = new ServiceStats(this.clientId, () => this.startedAt);
    const group = settings.sharedGroup;
    if (group !== undefined) assertGroup(group);
    this.presence = new Presence({
      agentName: this.agentName,
      prefix: this.topicPrefix,
      clientId: this.clientId,
      group,
      routing: settings.sharedRouting ?? "auto",
      probeMs: positive("shareProbeMs", settings.shareProbeMs ?? DEFAULT_SHARE_PROBE_MS),
      targets: Object.values(this.serviceUrls),
      keepaliveSeconds: () => this.keepaliveSeconds(),
      library,
      logger: this.logger,
      warnings: this.warnings,
      describe: () => this.catalog.summary(),
      openmas: () => this.openmas?.served(),
      onInstanceLost: (prefix, instance, requestBase) => this.instanceLost(prefix, instance, requestBase),
    });
    this.dispatcher = new Dispatcher({
      publish: (topic, payload, properties) => this.requireTransport(topic).publish(topic, payload, properties),
      logger: this.logger,
      maxPayloadBytes: this.maxPayloadBytes,
      maxTopicLevels: positiveInteger("maxTopicLevels", settings.maxTopicLevels ?? DEFAULT_MAX_TOPIC_LEVELS),
      warnings: this.warnings,
      dedup: settings.dedup === false ? undefined : new DedupCache(settings.dedup ?? {}),
      // Infinity ignores payload deadlines (those of callers whose clocks cannot be trusted).
      clockSkewToleranceMs: settings.clockSkewToleranceMs === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : nonNegative("clockSkewToleranceMs", settings.clockSkewToleranceMs ?? DEFAULT_CLOCK_SKEW_TOLERANCE_MS),
      name: this.agentName,
      stats: this.stats,
      builtins: new Map<string, Handler<any, any>>([
        ["rpc.discover", () => this.catalog.openRpc()],
        ["rpc.stats", () => this.stats.snapshot()],
      ]),
    });
    this.openmas = OpenMasEndpoint.create(settings, {
      agentName: this.agentName,
      topicPrefix: this.topicPrefix,
      serviceUrls: this.serviceUrls,
      dispatcher: this.dispatcher,
      pending: this.pending,
      logger: this.logger,
      warnings: this.warnings,
      maxPayloadBytes: this.maxPayloadBytes,
      maxTopicLevels: positiveInteger("maxTopicLevels", settings.maxTopicLevels ?? DEFAULT_MAX_TOPIC_LEVELS),
      onDuplicate: (target, method) => this.warnDuplicate(target, method),
      owns: (kind, method, payload) => !this.sharedByHash(kind, method) || this.presence.owns(payload, this.openmas?.served()),
    });
    for (const service of this.openmas?.openMasTargets ?? []) {
      if (this.batchers.has(service)) throw new ConfigurationError(`batching.${service}: ${service} is called in the OpenMAS format, which has no batches`);
    }
  }

  /** The MQTT Last Will this communicator's connection should carry: it clears the discovery record. */
  protected lastWill(): LastWill {
    return this.presence.will();
  }

  /**
   * How long the broker should keep this communicator's session once its connection ends, in seconds; 0 for a
   * clean session. Asked when the transport connects: by then the handlers are registered.
   */
  protected sessionExpiry(): number {
    if (this.sessionExpirySeconds !== undefined) return this.sessionExpirySeconds;
    // A member of a group: a crashed member's session would hold its share of new requests (Mosquitto goes
    // on handing `$share` messages to it) until it expires; with a clean session they go to live members.
    if (this.group !== undefined) return 0;
    return this.catalog.size > 0 ? DEFAULT_SESSION_EXPIRY_SECONDS : 0;
  }

  /** The connection's keepalive, in seconds, for the discovery record; 0 when the transport has none. */
  protected keepaliveSeconds(): number {
    return 0;
  }

  /**
   * The live instances of a prefix as this communicator sees them, from their discovery records: its own
   * prefix by default, or one of its targets' (a `serviceUrls` value). Empty before `start()`.
   */
  liveInstances(prefix: string = this.topicPrefix): InstanceRecord[] {
    return this.presence.directory.instances(prefix);
  }

  /** How requests reach this instance: `single` (no group), `shared` (`$share`) or `instances`. Known once started. */
  get routing(): "single" | "shared" | "instances" {
    return this.presence.routing;
  }

  /** Connect the transport. Called once by `start()`; `sink` receives every inbound message. */
  protected abstract openTransport(sink: MessageSink, inbound?: InboundControl): Promise<Transport>;

  get started(): boolean {
    return this.state === "started";
  }

  async start(): Promise<void> {
    if (this.state !== "idle") throw new CommunicationError(`Cannot start ${this.agentName}: the communicator is ${this.state}`);
    this.state = "starting";
    try {
      const inbound: InboundControl = {
        gate: () => this.dispatcher.inboundGate(),
        urgent: (topic) => topic === this.responseTopic || this.openmas?.isAnswer(topic) === true,
      };
      // Before connecting: a kept session delivers what was queued for it right after the broker accepts it.
      this.dispatcher.limitConcurrency(this.maxConcurrentHandlers, this.overload, this.maxQueuedRequests);
      this.transport = await this.openTransport((message) => this.onMessage(message), inbound);
      this.dispatcher.holdUntilAnswered(this.transport.keepsSession === true);
      if (!this.transport.inboundGated) {
        if (this.transport.setInboundGate) this.transport.setInboundGate(inbound.gate, inbound.urgent);
        else this.dispatcher.limitConcurrency(Number.POSITIVE_INFINITY); // a transport that cannot hold back what it reads gets no limit
      }
      this.startedAt = Date.now();
      const transport = this.transport;
      const openmasRequests = this.openmas?.requestFilter();
      const requestFilters = await this.presence.open(transport, openmasRequests === undefined ? [] : [openmasRequests]);
      await transport.subscribe([this.responseTopic, ...requestFilters, notificationFilter(this.topicPrefix), ...(this.openmas?.filters() ?? [])]);
      if (this.state !== "starting") throw new CommunicationError(`${this.agentName} was stopped while starting`);
      // Servers announce themselves; a communicator with no handlers only calls, and stays unlisted.
      const serves = this.catalog.size > 0 || this.presence.routing !== "single";
      if (serves) {
        await this.presence.announce(transport);
        transport.onReconnect?.(() => {
          if (this.state !== "started") return; // a stopping instance has cleared its record for good
          this.presence.announce(transport).catch((error: unknown) => this.logger.warn(`${this.agentName}: could not publish its discovery record again: ${(error as Error).message}`));
        });
      }
      await this.presence.query(transport, serves);
      transport.onReconnect?.(() => this.resendInFlight());
      this.state = "started";
    } catch (error) {
      if (this.state === "starting") this.state = "stopped";
      await this.transport?.close().catch(() => undefined);
      throw CommunicationError.from(error, { target: this.topicPrefix });
    }
  }

  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.state === "idle" || this.state === "stopped") {
      this.state = "stopped";
      return Promise.resolve();
    }
    this.stopping = this.stopStarted();
    return this.stopping;
  }

  /**
   * Bounded, with the broker there or not: the handlers' grace (`stopGraceMs`), plus at most
   * `CLOSE_TIMEOUT_MS` for what needs the broker (the record, and flushing what is in flight).
   */
  private async stopStarted(): Promise<void> {
    this.state = "stopping";
    const closeBy = Date.now() + CLOSE_TIMEOUT_MS;
    // First the record: callers stop choosing this instance while it drains. (Also for a communicator
    // that only calls: it stops watching its targets' records.) Not while disconnected: the publish
    // would wait for a reconnect that may never come (the Last Will clears the record then).
    const transport = this.transport;
    if (transport && transport.connected !== false) await within(this.presence.withdraw(transport).catch(() => undefined), CLOSE_TIMEOUT_MS);
    this.pending.rejectAll(
      (target, method) => new CommunicationError(`Request ${method} to ${target} was cancelled: ${this.agentName} stopped`, { target }),
    );
    for (const batcher of this.batchers.values()) batcher.clear();
    await this.dispatcher.drain(this.stopGraceMs);
    // Answered what it took: now the record goes (a record cleared without "leaving" means a dead instance).
    if (transport && transport.connected !== false) await within(this.presence.clear(transport).catch(() => undefined), Math.max(0, closeBy - Date.now()));
    try {
      await this.transport?.close(Math.max(0, closeBy - Date.now()));
    } finally {
      this.warnings.flush();
      this.state = "stopped";
    }
  }

  registerHandler<P = Params, R = unknown>(method: string, handler: Handler<P, R>, options?: HandlerOptions): () => void {
    assertName("method", method);
    if (typeof handler !== "function") throw new ConfigurationError(`Handler for ${method} must be a function, got ${typeof handler}`);
    this.dispatcher.handlers.set(method, handler);
    this.catalog.set(method, options);
    return () => {
      if (this.dispatcher.handlers.get(method) !== handler) return;
      this.dispatcher.handlers.delete(method);
      this.catalog.delete(method);
    };
  }

  /** Not an `async` function (one promise per call, not two); every problem still rejects rather than throws. */
  sendRequest<R = unknown>(targetService: string, method: string, params: Params = {}, options: RequestOptions = {}): Promise<R> {
    try {
      return this.startRequest<R>(targetService, method, params, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private startRequest<R>(targetService: string, method: string, params: Params, options: RequestOptions): Promise<R> {
    const transport = this.requireStarted(targetService);
    const prefix = this.resolveService(targetService);
    const openmas = this.openmas?.uses(targetService) ? this.openmas : undefined;
    if (openmas) openmas.checkMethod(method);
    else this.checkMethodName(method);
    const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    if (!(timeoutMs > 0 && timeoutMs <= 2_147_483_647)) {
      throw new ConfigurationError(`timeoutMs must be a positive number of milliseconds up to 2^31-1, got ${describe(timeoutMs)}`, { target: targetService });
    }
    const id = this.pending.nextId();
    const deadline = this.requestExpiry ? Date.now() + timeoutMs : undefined;
    const payload = this.encode(targetService, () => (openmas ? openmas.encodeRequest(id, targetService, method, params, deadline) : encodeRequest(id, method, params, this.responseTopic, deadline)));
    const result = this.pending.add(id, { target: targetService, method, timeoutMs, signal: options.signal });
    if (!this.pending.has(id)) return result as Promise<R>; // the signal was already aborted: publish nothing
    const batcher = this.batchers.get(targetService);
    if (batcher) {
      batcher.add({ id, body: payload, timeoutMs });
      return result as Promise<R>;
    }
    const topic = openmas ? openmas.requestTopic(targetService, method) : this.requestTopicOf(prefix, method);
    this.publishRequest(transport, targetService, topic, { id, body: payload, timeoutMs });
    return result as Promise<R>;
  }

  /**
   * Publish one request; with MQTT 5 (and `requestExpiry`) it also carries the Message Expiry
   * Interval, which gives the server the caller's deadline. Nothing else: the payload's
   * `response_topic` already names the response topic and the JSON-RPC id already correlates, and
   * every property costs on each hop (measured on Mosquitto: any one property ~14 µs per message one
   * way; the Response Topic property ~3 % of throughput at 64 in flight). Servers still honour
   * Response Topic and Correlation Data when other MQTT 5 callers send them.
   */
  private publishRequest(transport: Transport, target: string, topic: string, { id, body, timeoutMs }: QueuedRequest): void {
    const properties = this.requestExpiry && transport.supportsProperties ? { messageExpiryInterval: Math.ceil(timeoutMs / 1000) } : undefined;
    transport.publish(topic, body, properties, this.pending.ticket(id)).catch((error: unknown) => this.pending.reject(id, CommunicationError.from(error, { target })));
    this.pending.remember(id, topic, body);
  }

  /**
   * An instance of a target's group died (its Last Will cleared its record without it leaving first): the
   * calls sent to its request topics (under `requestBase`) go to another member now, instead of waiting out
   * their timeouts.
   */
  private instanceLost(prefix: string, instance: string, requestBase: string): void {
    const sent = this.resend((topic, method) => (topic === requestBase || (topic.startsWith(requestBase) && topic.charCodeAt(requestBase.length) === 47) ? this.requestTopicOf(prefix, method) : undefined));
    if (sent > 0) this.logger.warn(`${this.agentName}: instance ${instance} of ${prefix} is gone (its Last Will cleared its record) with ${sent} call(s) unanswered; sent them to the other instances`);
  }

  /**
   * After a reconnect: calls in flight that the broker had taken go again, since a caller keeps a clean session
   * and their answers may have been lost with the connection. A server that already ran one answers it from
   * its dedup cache without running it again, and a second copy of an answer is dropped as a copy.
   */
  private resendInFlight(): void {
    const sent = this.resend((topic, _method, acknowledged) => (acknowledged ? topic : undefined));
    if (sent > 0) this.logger.info(`${this.agentName}: sent ${sent} call(s) in flight again after the reconnect; a server that already ran one answers it from its dedup cache`);
  }

  /** Publish remembered calls again where `retarget` says (see `PendingRequests.resend`). */
  private resend(retarget: (topic: string, method: string, acknowledged: boolean) => string | undefined): number {
    const transport = this.transport;
    if (transport === undefined || this.state !== "started") return 0;
    return this.pending.resend(retarget, (id, topic, body) => {
      transport.publish(topic, body, undefined, this.pending.ticket(id)).catch((error: unknown) => this.pending.reject(id, CommunicationError.from(error, { target: topic })));
    });
  }

  /** Publish queued requests to `target`: alone as a plain request, together as one batch. */
  private sendBatch(target: string, prefix: string, queued: QueuedRequest[]): void {
    const transport = this.transport;
    // Calls that timed out or were aborted while queued are not sent at all.
    const entries = queued.filter((entry) => this.pending.has(entry.id));
    if (entries.length === 0 || transport === undefined) return;
    if (entries.length === 1) {
      const entry = entries[0]!;
      this.publishRequest(transport, target, this.requestTopicOf(prefix, this.pending.describe(entry.id)!.method), entry);
      return;
    }
    const properties = this.requestExpiry && transport.supportsProperties
      ? { messageExpiryInterval: Math.ceil(Math.max(...entries.map((entry) => entry.timeoutMs)) / 1000) }
      : undefined;
    // A batch goes to plain P/request: it holds several methods.
    transport.publish(requestBatchTopic(prefix), `[${entries.map((entry) => entry.body).join(",")}]`, properties).catch((error: unknown) => {
      for (const entry of entries) this.pending.reject(entry.id, CommunicationError.from(error, { target }));
    });
  }

  async sendNotification(targetService: string, method: string, params: Params = {}): Promise<void> {
    const transport = this.requireStarted(targetService);
    const prefix = this.resolveService(targetService);
    let topic: string;
    let payload: string;
    if (this.openmas?.uses(targetService)) {
      const openmas = this.openmas;
      openmas.checkMethod(method);
      ({ topic, payload } = this.encode(targetService, () => openmas.notification(targetService, method, params)));
    } else {
      assertName("method", method);
      topic = notificationTopic(prefix, method);
      payload = this.encode(targetService, () => encodeNotification(method, params));
    }
    try {
      await transport.publish(topic, payload);
    } catch (error) {
      throw CommunicationError.from(error, { target: targetService });
    }
  }

  /**
   * Where a request for `method` goes: one instance's own topic when the target is an `instances` group,
   * else `P/request/<method>`. A method with a `.` (`rpc.discover`) goes without the method level: NATS
   * refuses `.` in topic levels, and the payload names the method anyway.
   */
  private requestTopicOf(prefix: string, method: string): string {
    const instance = this.presence.instanceFor(prefix);
    if (method.includes(".")) return instance ?? requestBatchTopic(prefix);
    return instance === undefined ? requestTopic(prefix, method) : `${instance}/${method}`;
  }

  /** Check a method name once; later calls with the same name skip the work. */
  private checkMethodName(method: string): void {
    if (this.checkedMethods.has(method)) return;
    assertName("method", method);
    if (this.checkedMethods.size < 10_000) this.checkedMethods.add(method);
  }

  /** The topic prefix of `targetService`, or `ServiceNotFoundError`. */
  resolveService(targetService: string): string {
    const prefix = Object.hasOwn(this.serviceUrls, targetService) ? this.serviceUrls[targetService] : undefined;
    if (prefix === undefined) {
      const known = Object.keys(this.serviceUrls);
      throw new ServiceNotFoundError(
        `Service ${JSON.stringify(targetService)} is not in serviceUrls of ${this.agentName} (known: ${known.length ? known.join(", ") : "none"})`,
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
    if (this.openmas?.uses(target)) {
      this.logger.warn(
        `${this.agentName}: a second answer came to one ${method} request to ${target}: more than one agent named ${target} serves ${this.openmas.requestTopic(target, "#")}, so each request runs on all of them. Give them the same sharedGroup, or stop the extra ones`,
      );
      return;
    }
    const prefix = this.serviceUrls[target] ?? target;
    const instances = this.presence.directory.instances(prefix);
    const seen = instances.length > 0 ? ` (instances seen: ${instances.map((record) => `${record.instance}${record.group === null ? "" : ` in group ${record.group}`}`).join(", ")})` : "";
    this.logger.warn(
      `${this.agentName}: a second answer came to one ${method} request to ${target}: more than one instance serves ${prefix}${seen}, so each request runs on all of them. Give them the same sharedGroup, or stop the extra ones`,
    );
  }

  private requireStarted(target: string): Transport {
    if (this.state !== "started" || this.transport === undefined) {
      throw new CommunicationError(`Cannot send to ${target}: the communicator of ${this.agentName} is ${this.state}, not started`, { target });
    }
    return this.transport;
  }

  private requireTransport(topic: string): Transport {
    if (this.transport === undefined) throw new CommunicationError(`Cannot publish to ${topic}: not connected`, { target: topic });
    return this.transport;
  }

  private encode<T>(target: string, encode: () => T): T {
    try {
      return encode();
    } catch (error) {
      throw new CommunicationError(`Params for ${target} cannot be encoded as JSON: ${(error as Error).message}`, { target, cause: error });
    }
  }

  /**
   * Every inbound message. Writes are held for the rest of the event-loop turn (see
   * `Transport.holdWrites`) when that folds writes together: always for requests, whose PUBACK and
   * answer then leave as one; for responses only while other calls are in flight, whose answers
   * and follow-up requests it folds. A lone response is not held: its PUBACK would otherwise share
   * a write with the caller's next request, which a broker that serves one read's packets in turn
   * (aedes) then handles only after the PUBACK (measured on aedes, sequential calls: p50 1.13× the
   * hand-written baseline held, 1.03× not held; on Mosquitto no difference).
   */
  private onMessage(message: InboundMessage): void {
    if (message.topic === this.responseTopic) {
      if (this.pending.size > 1) this.transport?.holdWrites?.();
      this.onResponse(message);
      return;
    }
    if (this.openmas?.isAnswer(message.topic)) {
      // Held on the same terms as a JSON-RPC response.
      if (this.pending.size > 1) this.transport?.holdWrites?.();
      this.openmas.consume(message);
      return;
    }
    this.transport?.holdWrites?.();
    const kind = classifyTopic(this.topicPrefix, message.topic);
    if (kind === undefined) {
      if (this.presence.isInstanceRequest(message.topic)) this.dispatcher.dispatch("request", message);
      else if (this.openmas?.consume(message)) return;
      else if (!this.presence.consume(message, this.transport!)) this.logger.debug(`${this.agentName}: ignored a message on unexpected topic ${message.topic}`);
      return;
    }
    // Every member of an `instances` group receives what is published to the plain topics: one takes it.
    if (kind === "request" ? this.presence.routing === "instances" : this.catalog.deliveredToOne.size > 0 && this.deliveredToOne(message.topic)) {
      if (!this.presence.owns(message.payload)) return;
    }
    this.dispatcher.dispatch(kind, message);
  }

  /**
   * Whether every member of this instance's group received a message that only one of them should take:
   * a request, under `instances` routing; a notification whose handler is delivered to one instance.
   */
  private sharedByHash(kind: "request" | "notification", method: string): boolean {
    if (kind === "request") return this.presence.routing === "instances";
    return this.presence.routing !== "single" && this.catalog.deliveredToOne.has(method);
  }

  /** Whether a notification on `topic` goes to one instance of this service's group only. */
  private deliveredToOne(topic: string): boolean {
    if (this.presence.routing === "single") return false;
    const method = topic.slice(notificationTopic(this.topicPrefix, "").length);
    return this.catalog.deliveredToOne.has(method);
  }

  private onResponse(message: InboundMessage): void {
    let value: unknown;
    try {
      value = readPayload(message.payload, this.maxPayloadBytes);
    } catch (error) {
      const size = message.payload.byteLength;
      const why = (error as UnreadablePayload).problem === "too-large" ? `of ${size} bytes (limit ${this.maxPayloadBytes})` : `that is not JSON on ${message.topic}`;
      this.warnings.warn(BAD_RESPONSES, () => `${this.agentName}: dropped a response ${why}`);
      return;
    }
    // A fingerprint of the message: a QoS 1 redelivery of it is a copy, not a second answer.
    const fingerprint = fnv1a(message.payload);
    if (Array.isArray(value)) {
      for (const entry of value) this.settle(entry, fingerprint);
      return;
    }
    this.settle(value, fingerprint);
  }

  /** Settle the pending call one response object answers. */
  private settle(value: unknown, fingerprint: number): void {
    const response = decodeResponse(value);
    if (response.id === null || !this.pending.has(response.id)) {
      const answered = response.id === null ? undefined : this.pending.answeredBefore(response.id, fingerprint);
      if (answered === undefined) this.logger.debug(`${this.agentName}: dropped a late or unknown response ${describe(response.id)}`);
      else if (!answered.copy) this.warnDuplicate(answered.target, answered.method);
      return;
    }
    const sent = this.pending.describe(response.id)!;
    switch (response.kind) {
      case "result":
        this.pending.settleAnswer(response.id, "resolve", response.result, fingerprint);
        return;
      case "error":
        this.pending.settleAnswer(response.id, "reject", errorFromWire(response.error, sent), fingerprint);
        return;
      case "malformed":
        this.pending.settleAnswer(
          response.id,
          "reject",
          new CommunicationError(`Malformed response to ${sent.method} from ${sent.target}: ${response.reason}`, { target: sent.target }),
        );
    }
  }
}

/** Wait for `promise`, at most `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Why `group` cannot name a `sharedGroup`: it becomes one level of `$share/<group>/...`. */
function assertGroup(group: unknown): asserts group is string {
  assertName("sharedGroup", group);
  if ((group as string).includes("/")) throw new ConfigurationError(`sharedGroup must be one topic level, without "/", got ${JSON.stringify(group)}`);
}

/** The kind of rate-limited warning for responses that cannot be read. */
const BAD_RESPONSES = "responses that could not be read";

function positiveInteger(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) throw new ConfigurationError(`${name} must be a positive integer, got ${describe(value)}`);
  return value;
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new ConfigurationError(`${name} must be a positive number, got ${describe(value)}`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) throw new ConfigurationError(`${name} must be zero or a positive number, got ${describe(value)}`);
  return value;
}
