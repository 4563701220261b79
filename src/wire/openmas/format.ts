/**
 * OpenMAS's built-in MQTT format: the topics `<root>/<agent>/request|response|notification/...`,
 * payloads with `source` and `target`, HTTP-style error codes. A client calls the services listed as
 * `openmas` in this format; a server with `wireFormat: "openmas"` also serves `<root>/<agent name>/...`.
 */
import { CommunicationError, ConfigurationError } from "../../errors/errors.js";
import type { InboundMessage } from "../../transport/transport.js";
import { fnv1a } from "../fnv1a.js";
import { DROPPED, type AnswerSink, type FormatContext, type InboundSink, type Params, type ReplyEncoder, type Route, type WireFormat } from "../format.js";
import { describe } from "../values.js";
import { responseTopicProblem } from "../names.js";
import { readPayload, type UnreadablePayload } from "../payload.js";
import { errorFromOpenMas, toOpenMasError } from "./errors.js";
import { decodeOpenMasNotification, decodeOpenMasRequest, decodeOpenMasResponse, encodeOpenMasError, encodeOpenMasNotification, encodeOpenMasRequest, encodeOpenMasResult } from "./messages.js";
import { levelProblem, openMasFilter, openMasTopic, parseOpenMasTopic } from "./topics.js";

/** Kinds of rate-limited warning. */
const UNSERVED = "OpenMAS-format messages that could not be served";
const BAD_ANSWERS = "OpenMAS-format answers that could not be read";

export class OpenMasFormat implements WireFormat {
  readonly title = "OpenMAS";
  /** OpenMAS's format has no streams, and its peers no cancel. */
  readonly streams = false;
  /** `<root>/<agent name>` when this agent serves the format. */
  readonly servedAs: string | undefined;
  /** `<root>/<agent>/`: every topic this format reads starts with it. */
  private readonly base: string;
  /** The last `source` found valid: a caller sends all its requests with one. */
  private lastSource: string | undefined;

  private constructor(
    private readonly root: string,
    /** Whether `<root>/<agent>/request|notification/#` are served. */
    private readonly serves: boolean,
    /** Whether any service is called in this format. */
    private readonly calls: boolean,
    private readonly context: FormatContext,
  ) {
    this.base = `${root}/${context.agentName}/`;
    this.servedAs = serves ? `${root}/${context.agentName}` : undefined;
  }

  /**
   * The format for an agent that serves it (`serves`) and calls `targets` in it; throws `ConfigurationError`
   * naming a name that cannot be one topic level, or a `topicPrefix` that would share its topics.
   */
  static create(root: string, serves: boolean, targets: ReadonlySet<string>, context: FormatContext): OpenMasFormat {
    checkLevel("agent name", context.agentName, "in the OpenMAS format, answers go to <root>/<agent name>/response/<id>, one level per name");
    for (const service of targets) checkLevel(`serviceUrls key`, service, "the OpenMAS format addresses a service by its name, which becomes one topic level");
    if (serves && context.topicPrefix === `${root}/${context.agentName}`) {
      throw new ConfigurationError(`topicPrefix ${JSON.stringify(context.topicPrefix)} is where the OpenMAS format serves ${context.agentName}: the two formats would share topics. Choose another topicPrefix`, { details: { topicPrefix: context.topicPrefix } });
    }
    return new OpenMasFormat(root, serves, targets.size > 0, context);
  }

  answerFilters(): string[] {
    return this.calls ? [openMasFilter(this.root, this.context.agentName, "response")] : [];
  }

  requestFilters(): string[] {
    return this.serves ? [openMasFilter(this.root, this.context.agentName, "request")] : [];
  }

  notificationFilters(): string[] {
    return this.serves ? [openMasFilter(this.root, this.context.agentName, "notification")] : [];
  }

  route(topic: string): Route | undefined {
    const parsed = parseOpenMasTopic(this.base, topic);
    if (parsed === undefined) return undefined;
    if (parsed.kind === "response") return "answer";
    return this.serves ? parsed.kind : undefined;
  }

  /** The method a request or notification topic names, or the id an answer topic names. */
  methodOf(topic: string): string {
    return parseOpenMasTopic(this.base, topic)?.rest ?? "";
  }

  checkMethod(method: string): void {
    checkLevel("method", method, "OpenMAS servers read the method from one topic level");
  }

  requestTopic(service: string, _prefix: string, method: string): string {
    return openMasTopic(this.root, service, "request", method);
  }

  encodeRequest(id: string, service: string, method: string, params: Params, deadline: number | undefined): string {
    return encodeOpenMasRequest(id, this.context.agentName, service, method, params, deadline);
  }

  notification(service: string, _prefix: string, method: string, params: Params): { topic: string; payload: string } {
    return { topic: openMasTopic(this.root, service, "notification", method), payload: encodeOpenMasNotification(this.context.agentName, service, method, params) };
  }

  answersAt(): string {
    return openMasFilter(this.root, this.context.agentName, "response");
  }

  duplicateCause(service: string): string {
    return `more than one agent named ${service} serves ${this.requestTopic(service, "", "#")}`;
  }

  serve(message: InboundMessage, route: "request" | "notification", sink: InboundSink): void {
    const method = this.methodOf(message.topic);
    if (route === "request") this.onRequest(message, method, sink);
    else this.onNotification(message, method, sink);
  }

  /** The payload parsed, or `undefined` after a rate-limited warning saying why not. */
  private read(message: InboundMessage, kind: string, warning: string): unknown {
    try {
      return readPayload(message.payload, this.context.maxPayloadBytes);
    } catch (error) {
      const size = message.payload.byteLength;
      const why = (error as UnreadablePayload).problem === "too-large" ? `of ${size} bytes on ${message.topic} (limit ${this.context.maxPayloadBytes})` : `that is not JSON on ${message.topic}`;
      this.context.warnings.warn(warning, () => `${this.context.agentName}: dropped an OpenMAS ${kind} ${why}`);
      return undefined;
    }
  }

  private onRequest(message: InboundMessage, method: string, sink: InboundSink): void {
    const { agentName, warnings } = this.context;
    const value = this.read(message, "request", UNSERVED);
    if (value === undefined) return;
    const decoded = decodeOpenMasRequest(value, method, this.lastSource);
    if (decoded.kind === "unanswerable") {
      warnings.warn(UNSERVED, () => `${agentName}: dropped an OpenMAS request on ${message.topic}: ${decoded.reason}; it cannot be answered`);
      return;
    }
    const source = decoded.kind === "request" ? decoded.request.source : decoded.source;
    const responseTopic = openMasTopic(this.root, source, "response", String(decoded.kind === "request" ? decoded.request.id : decoded.id));
    // Each level is valid on its own; together they must still make a topic a broker takes. Four levels of at
    // most 21 845 UTF-16 units in all are within 65 535 bytes: only a longer one needs the full check.
    const topicProblem = responseTopic.length > 21_845 || this.context.maxTopicLevels < 4 ? responseTopicProblem(responseTopic, this.context.maxTopicLevels) : undefined;
    if (topicProblem !== undefined) {
      warnings.warn(UNSERVED, () => `${agentName}: dropped an OpenMAS request on ${message.topic}: its answer topic ${describe(responseTopic)} ${topicProblem}; it cannot be answered`);
      return;
    }
    this.lastSource = source;
    if (decoded.kind === "invalid") {
      this.context.logger.debug(`${agentName}: answered a bad OpenMAS request on ${message.topic}: ${decoded.error.message}`);
      sink.reply(responseTopic, encodeOpenMasError(decoded.id, agentName, decoded.source, toOpenMasError(decoded.error, undefined)), undefined, false);
      return;
    }
    sink.request(decoded.request, message, responseTopic, this.replies(decoded.request.source), undefined, false);
  }

  /** Answers to `caller`, in this format. */
  private replies(caller: string): ReplyEncoder {
    const self = this.context.agentName;
    return {
      result: (id, value) => encodeOpenMasResult(id, self, caller, value),
      error: (id, error, cause) => encodeOpenMasError(id, self, caller, toOpenMasError(error, cause)),
    };
  }

  private onNotification(message: InboundMessage, method: string, sink: InboundSink): void {
    const { agentName, warnings } = this.context;
    if (method === "") {
      warnings.warn(UNSERVED, () => `${agentName}: dropped an OpenMAS notification on ${message.topic}: the topic names no method`);
      return;
    }
    const value = this.read(message, "notification", UNSERVED);
    if (value === undefined) return;
    const decoded = decodeOpenMasNotification(value);
    if ("reason" in decoded) {
      warnings.warn(UNSERVED, () => `${agentName}: dropped an OpenMAS notification on ${message.topic}: ${decoded.reason}`);
      return;
    }
    sink.notification(method, decoded.params, message.topic);
  }

  readAnswers(message: InboundMessage, sink: AnswerSink): void {
    const id = this.methodOf(message.topic);
    // Every instance with this agent name reads answers to all of them: those to others are not ours.
    if (!sink.expects(id)) {
      sink.unexpected(id, fnv1a(message.payload));
      return;
    }
    const value = this.read(message, "answer", BAD_ANSWERS);
    if (value === undefined) return;
    const sent = sink.sent(id);
    const decoded = decodeOpenMasResponse(value, id);
    switch (decoded.kind) {
      case "result":
        sink.settle(id, "resolve", decoded.result, fnv1a(message.payload));
        return;
      case "error":
        sink.settle(id, "reject", errorFromOpenMas(decoded.error, sent), fnv1a(message.payload));
        return;
      case "mismatched":
        this.context.warnings.warn(BAD_ANSWERS, () => `${this.context.agentName}: dropped an OpenMAS answer on ${message.topic}: its "id" ${describe(decoded.id)} is not the one in the topic`);
        return;
      case "malformed":
        sink.settle(id, "reject", new CommunicationError(`Malformed answer to ${sent.method} from ${sent.target}: ${decoded.reason}`, { target: sent.target }));
    }
  }
}

function checkLevel(what: string, value: unknown, why?: string): string {
  const problem = levelProblem(value);
  if (problem !== undefined) throw new ConfigurationError(`${what} ${describe(value)} ${problem}${why === undefined ? "" : ` (${why})`}`, { details: { [what]: value } });
  return value as string;
}
