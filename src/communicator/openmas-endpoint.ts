import { CommunicationError, ConfigurationError } from "../errors/errors.js";
import { fnv1a } from "../wire/fnv1a.js";
import type { Logger } from "../logger.js";
import type { WarningLimiter } from "../log/warning-limiter.js";
import { describe, type Params } from "../wire/jsonrpc.js";
import { responseTopicProblem } from "../wire/names.js";
import { readPayload, type UnreadablePayload } from "../wire/payload.js";
import type { ReplyEncoder } from "../wire/reply.js";
import { errorFromOpenMas, toOpenMasError } from "../wire/openmas/errors.js";
import {
  decodeOpenMasNotification,
  decodeOpenMasRequest,
  decodeOpenMasResponse,
  encodeOpenMasError,
  encodeOpenMasNotification,
  encodeOpenMasRequest,
  encodeOpenMasResult,
} from "../wire/openmas/messages.js";
import { DEFAULT_OPENMAS_TOPIC_PREFIX, levelProblem, openMasFilter, openMasTopic, parseOpenMasTopic, rootProblem } from "../wire/openmas/topics.js";
import type { Dispatcher } from "./dispatcher.js";
import type { PendingRequests } from "./pending-requests.js";
import type { InboundMessage } from "./transport.js";

/** The wire formats a communicator speaks: JSON-RPC 2.0 (OpenMAS's MQTT example) or OpenMAS's built-in MQTT format. */
export type WireFormat = "jsonrpc" | "openmas";

export const WIRE_FORMATS: readonly WireFormat[] = ["jsonrpc", "openmas"];

export interface OpenMasSettings {
  /** This agent's format: how it calls services not in `serviceWireFormats`, and, with `openmas`, what it also serves. */
  wireFormat?: WireFormat | undefined;
  /** Per target service (a `serviceUrls` key): the format to call it in. */
  serviceWireFormats?: Record<string, WireFormat> | undefined;
  /** OpenMAS's `topic_prefix`: the first topic level of the OpenMAS format. Default `openmas`. */
  openmasTopicPrefix?: string | undefined;
}

export interface OpenMasEndpointDeps {
  agentName: string;
  /** The JSON-RPC prefix this agent serves under: it must not be one of the OpenMAS format's agent topics. */
  topicPrefix: string;
  serviceUrls: Readonly<Record<string, string>>;
  dispatcher: Dispatcher;
  pending: PendingRequests;
  logger: Logger;
  warnings: WarningLimiter;
  maxPayloadBytes: number;
  /** Answer topics with more levels are never published to. */
  maxTopicLevels: number;
  /** A second answer came to one call of ours: say so (more than one instance serves the target). */
  onDuplicate(target: string, method: string): void;
  /** Whether this instance takes a request or notification every member of its group received. */
  owns(kind: "request" | "notification", method: string, payload: Uint8Array): boolean;
}

/** Kinds of rate-limited warning. */
const DROPPED = "OpenMAS-format messages that could not be served";
const BAD_ANSWERS = "OpenMAS-format answers that could not be read";

/**
 * OpenMAS's built-in MQTT format beside the JSON-RPC one: the topics `<root>/<agent>/request|response|notification/...`,
 * payloads with `source` and `target`, HTTP-style error codes. A client calls the services listed as
 * `openmas` in this format; a server with `wireFormat: "openmas"` also serves `<root>/<agent name>/...`.
 * Requests it reads go through the same dispatcher as JSON-RPC ones (limits, deadlines, dedup, stop), and
 * answers to its calls settle the same pending requests.
 */
export class OpenMasEndpoint {
  readonly root: string;
  /** Whether `<root>/<agent>/request|notification/#` are served. */
  readonly serves: boolean;
  /** `<root>/<agent>/`: every topic this endpoint reads starts with it. */
  private readonly base: string;
  private readonly targets: ReadonlySet<string>;
  /** `<root>/<agent>`: where this agent is served in this format. */
  private readonly address: string;
  /** `<root>/<agent>/response/`: where answers to this agent's calls arrive. */
  private readonly answers: string;
  /** The last `source` found valid: a caller sends all its requests with one. */
  private lastSource: string | undefined;

  private constructor(
    settings: { root: string; serves: boolean; targets: Set<string> },
    private readonly deps: OpenMasEndpointDeps,
  ) {
    this.root = settings.root;
    this.serves = settings.serves;
    this.targets = settings.targets;
    this.base = `${settings.root}/${deps.agentName}/`;
    this.answers = `${this.base}response/`;
    this.address = `${settings.root}/${deps.agentName}`;
  }

  /** The endpoint for these settings, or `undefined` when nothing is in the OpenMAS format. Throws `ConfigurationError` naming a bad value. */
  static create(settings: OpenMasSettings, deps: OpenMasEndpointDeps): OpenMasEndpoint | undefined {
    const wireFormat = checkFormat("wireFormat", settings.wireFormat ?? "jsonrpc");
    const targets = new Set<string>();
    for (const service of Object.keys(deps.serviceUrls)) if (wireFormat === "openmas") targets.add(service);
    for (const [service, format] of Object.entries(settings.serviceWireFormats ?? {})) {
      if (!Object.hasOwn(deps.serviceUrls, service)) {
        throw new ConfigurationError(`serviceWireFormats.${service}: ${JSON.stringify(service)} is not in serviceUrls of ${deps.agentName}`, { details: { serviceWireFormats: settings.serviceWireFormats } });
      }
      if (checkFormat(`serviceWireFormats.${service}`, format) === "openmas") targets.add(service);
      else targets.delete(service);
    }
    const serves = wireFormat === "openmas";
    if (!serves && targets.size === 0) {
      if (settings.openmasTopicPrefix !== undefined) checkLevel("openmasTopicPrefix", settings.openmasTopicPrefix, undefined, rootProblem);
      return undefined;
    }
    const root = checkLevel("openmasTopicPrefix", settings.openmasTopicPrefix ?? DEFAULT_OPENMAS_TOPIC_PREFIX, undefined, rootProblem);
    const why = "in the OpenMAS format, answers go to <root>/<agent name>/response/<id>, one level per name";
    checkLevel("agent name", deps.agentName, why);
    for (const service of targets) checkLevel(`serviceUrls key`, service, "the OpenMAS format addresses a service by its name, which becomes one topic level");
    if (serves && deps.topicPrefix === `${root}/${deps.agentName}`) {
      throw new ConfigurationError(`topicPrefix ${JSON.stringify(deps.topicPrefix)} is where the OpenMAS format serves ${deps.agentName}: the two formats would share topics. Choose another topicPrefix`, { details: { topicPrefix: deps.topicPrefix } });
    }
    return new OpenMasEndpoint({ root, serves, targets }, deps);
  }

  /** `<root>/<agent name>` when this agent serves the format, for its discovery record. */
  served(): string | undefined {
    return this.serves ? this.address : undefined;
  }

  /** Whether `topic` is an answer to a call of this agent's (`<root>/<agent>/response/<id>`). */
  isAnswer(topic: string): boolean {
    return this.targets.size > 0 && topic.startsWith(this.answers);
  }

  /** Whether calls to `service` go in the OpenMAS format. */
  uses(service: string): boolean {
    return this.targets.has(service);
  }

  /** The services called in the OpenMAS format. */
  get openMasTargets(): ReadonlySet<string> {
    return this.targets;
  }

  /** Filters to subscribe besides the group's request filter: answers to calls, and notifications when serving. */
  filters(): string[] {
    const filters: string[] = [];
    if (this.targets.size > 0) filters.push(openMasFilter(this.root, this.deps.agentName, "response"));
    if (this.serves) filters.push(openMasFilter(this.root, this.deps.agentName, "notification"));
    return filters;
  }

  /** The request filter when serving; a group may share it (`$share/<group>/...`). */
  requestFilter(): string | undefined {
    return this.serves ? openMasFilter(this.root, this.deps.agentName, "request") : undefined;
  }

  /** Where a request for `method` to `service` goes. */
  requestTopic(service: string, method: string): string {
    return openMasTopic(this.root, service, "request", method);
  }

  /** Check a method name for a call in this format (OpenMAS servers read it from one topic level). */
  checkMethod(method: string): void {
    checkLevel("method", method, "OpenMAS servers read the method from one topic level");
  }

  encodeRequest(id: string, service: string, method: string, params: Params, deadline: number | undefined): string {
    return encodeOpenMasRequest(id, this.deps.agentName, service, method, params, deadline);
  }

  /** A notification to `service`: its topic and payload. */
  notification(service: string, method: string, params: Params): { topic: string; payload: string } {
    return { topic: openMasTopic(this.root, service, "notification", method), payload: encodeOpenMasNotification(this.deps.agentName, service, method, params) };
  }

  /**
   * Take `message` if it is on one of this endpoint's topics: an answer to a call, or a request or
   * notification to serve. Returns false for any other topic. Never throws.
   */
  consume(message: InboundMessage): boolean {
    const parsed = parseOpenMasTopic(this.base, message.topic);
    if (parsed === undefined) return false;
    try {
      if (parsed.kind === "response") this.onAnswer(message, parsed.rest);
      else if (this.serves) {
        if (parsed.kind === "request") this.onRequest(message, parsed.rest);
        else this.onNotification(message, parsed.rest);
      }
    } catch (error) {
      this.deps.logger.error(`${this.deps.agentName}: failed to handle an OpenMAS-format message on ${message.topic}`, { error });
    }
    return true;
  }

  /** The payload parsed, or `undefined` after a rate-limited warning saying why not. */
  private read(message: InboundMessage, kind: string, warning: string): unknown {
    try {
      return readPayload(message.payload, this.deps.maxPayloadBytes);
    } catch (error) {
      const size = message.payload.byteLength;
      const why = (error as UnreadablePayload).problem === "too-large" ? `of ${size} bytes on ${message.topic} (limit ${this.deps.maxPayloadBytes})` : `that is not JSON on ${message.topic}`;
      this.deps.warnings.warn(warning, () => `${this.deps.agentName}: dropped an OpenMAS ${kind} ${why}`);
      return undefined;
    }
  }

  private onRequest(message: InboundMessage, method: string): void {
    const value = this.read(message, "request", DROPPED);
    if (value === undefined) return;
    const decoded = decodeOpenMasRequest(value, method, this.lastSource);
    if (decoded.kind === "unanswerable") {
      this.deps.warnings.warn(DROPPED, () => `${this.deps.agentName}: dropped an OpenMAS request on ${message.topic}: ${decoded.reason}; it cannot be answered`);
      return;
    }
    const source = decoded.kind === "request" ? decoded.request.source : decoded.source;
    const responseTopic = openMasTopic(this.root, source, "response", String(decoded.kind === "request" ? decoded.request.id : decoded.id));
    // Each level is valid on its own; together they must still make a topic a broker takes. Four levels of at
    // most 21 845 UTF-16 units in all are within 65 535 bytes: only a longer one needs the full check.
    const topicProblem = responseTopic.length > 21_845 || this.deps.maxTopicLevels < 4 ? responseTopicProblem(responseTopic, this.deps.maxTopicLevels) : undefined;
    if (topicProblem !== undefined) {
      this.deps.warnings.warn(DROPPED, () => `${this.deps.agentName}: dropped an OpenMAS request on ${message.topic}: its answer topic ${describe(responseTopic)} ${topicProblem}; it cannot be answered`);
      return;
    }
    this.lastSource = source;
    if (!this.deps.owns("request", decoded.kind === "request" ? decoded.request.method : method, message.payload)) return;
    if (decoded.kind === "invalid") {
      this.deps.logger.debug(`${this.deps.agentName}: answered a bad OpenMAS request on ${message.topic}: ${decoded.error.message}`);
      this.deps.dispatcher.reply(responseTopic, encodeOpenMasError(decoded.id, this.deps.agentName, decoded.source, toOpenMasError(decoded.error, undefined)));
      return;
    }
    this.deps.dispatcher.serveRequest(decoded.request, message, responseTopic, this.replies(decoded.request.source));
  }

  /** Answers to `caller`, in this format. */
  private replies(caller: string): ReplyEncoder {
    const self = this.deps.agentName;
    return {
      result: (id, value) => encodeOpenMasResult(id, self, caller, value),
      error: (id, error, cause) => encodeOpenMasError(id, self, caller, toOpenMasError(error, cause)),
    };
  }

  private onNotification(message: InboundMessage, method: string): void {
    if (method === "") {
      this.deps.warnings.warn(DROPPED, () => `${this.deps.agentName}: dropped an OpenMAS notification on ${message.topic}: the topic names no method`);
      return;
    }
    const value = this.read(message, "notification", DROPPED);
    if (value === undefined) return;
    const decoded = decodeOpenMasNotification(value);
    if ("reason" in decoded) {
      this.deps.warnings.warn(DROPPED, () => `${this.deps.agentName}: dropped an OpenMAS notification on ${message.topic}: ${decoded.reason}`);
      return;
    }
    if (!this.deps.owns("notification", method, message.payload)) return;
    this.deps.dispatcher.serveNotification(method, decoded.params, message.topic);
  }

  private onAnswer(message: InboundMessage, id: string): void {
    const { pending } = this.deps;
    // Every instance with this agent name reads answers to all of them: those to others are not ours.
    if (!pending.has(id)) {
      const answered = pending.answeredBefore(id, fnv1a(message.payload));
      if (answered !== undefined) {
        // A copy of the message that answered it (a QoS 1 redelivery) is dropped silently.
        if (!answered.copy) this.deps.onDuplicate(answered.target, answered.method);
        return;
      }
      this.deps.logger.debug(`${this.deps.agentName}: ignored an OpenMAS answer to ${describe(id)}, which is not a call in flight here`);
      return;
    }
    const value = this.read(message, "answer", BAD_ANSWERS);
    if (value === undefined) return;
    const sent = pending.describe(id)!;
    const decoded = decodeOpenMasResponse(value, id);
    switch (decoded.kind) {
      case "result":
        pending.settleAnswer(id, "resolve", decoded.result, fnv1a(message.payload));
        return;
      case "error":
        pending.settleAnswer(id, "reject", errorFromOpenMas(decoded.error, sent), fnv1a(message.payload));
        return;
      case "mismatched":
        this.deps.warnings.warn(BAD_ANSWERS, () => `${this.deps.agentName}: dropped an OpenMAS answer on ${message.topic}: its "id" ${describe(decoded.id)} is not the one in the topic`);
        return;
      case "malformed":
        pending.settleAnswer(id, "reject", new CommunicationError(`Malformed answer to ${sent.method} from ${sent.target}: ${decoded.reason}`, { target: sent.target }));
    }
  }
}

function checkFormat(what: string, format: unknown): WireFormat {
  if (!WIRE_FORMATS.includes(format as WireFormat)) {
    throw new ConfigurationError(`${what} must be "jsonrpc" or "openmas", got ${describe(format)}`, { details: { [what]: format } });
  }
  return format as WireFormat;
}

function checkLevel(what: string, value: unknown, why?: string, problemOf: (value: unknown) => string | undefined = levelProblem): string {
  const problem = problemOf(value);
  if (problem !== undefined) throw new ConfigurationError(`${what} ${describe(value)} ${problem}${why === undefined ? "" : ` (${why})`}`, { details: { [what]: value } });
  return value as string;
}
