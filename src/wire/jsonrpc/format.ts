/**
 * JSON-RPC 2.0 over the topic layout of OpenMAS's MQTT example: the default wire format. Requests go to
 * `P/request/<method>` with a `response_topic` in the payload, answers come back on this instance's own
 * `P/response/<clientId>`, notifications go to `P/notification/<method>`, and several requests may go
 * as one batch.
 */
import { CommunicationError } from "../../errors/errors.js";
import { errorFromWire } from "../../errors/wire.js";
import type { InboundMessage } from "../../transport/transport.js";
import { fnv1a } from "../fnv1a.js";
import type { AnswerSink, CallControl, FormatContext, InboundSink, Params, Route, StreamRequest, WireFormat } from "../format.js";
import { isPlainObject } from "../values.js";
import { assertName } from "../names.js";
import { readPayload, type UnreadablePayload } from "../payload.js";
import { decodeResponse, encodeNotification, encodeRequest } from "./codec.js";
import { JsonRpcServer } from "./serve.js";
import { decodeItem, encodeCancel, encodeCredit, encodeStreamRequest, ITEM } from "./streams.js";
import { classifyTopic, notificationFilter, notificationTopic, requestBatchTopic, requestFilter, requestTopic } from "./topics.js";

/** The kind of rate-limited warning for responses that cannot be read. */
const BAD_RESPONSES = "responses that could not be read";

export class JsonRpcFormat implements WireFormat {
  readonly title = "JSON-RPC";
  readonly streams = true;
  readonly servedAs = undefined;
  private readonly server: JsonRpcServer;
  private readonly checkedMethods = new Set<string>();
  /** `P/notification/`: a notification topic less the method. */
  private readonly notifications: string;

  constructor(private readonly context: FormatContext) {
    this.server = new JsonRpcServer(context);
    this.notifications = notificationTopic(context.topicPrefix, "");
  }

  answerFilters(): string[] {
    return [this.context.responseTopic];
  }

  requestFilters(): string[] {
    return [requestFilter(this.context.topicPrefix)];
  }

  notificationFilters(): string[] {
    return [notificationFilter(this.context.topicPrefix)];
  }

  route(topic: string): Route | undefined {
    if (topic === this.context.responseTopic) return "answer";
    return classifyTopic(this.context.topicPrefix, topic);
  }

  methodOf(topic: string): string {
    return topic.slice(this.notifications.length);
  }

  /** Checks a method name once; later calls with the same name skip the work. */
  checkMethod(method: string): void {
    if (this.checkedMethods.has(method)) return;
    assertName("method", method);
    if (this.checkedMethods.size < 10_000) this.checkedMethods.add(method);
  }

  /**
   * One instance's own topic when the target is an `instances` group, else `P/request/<method>`. A method
   * with a `.` (`rpc.discover`) goes without the method level: NATS refuses `.` in topic levels, and the
   * payload names the method anyway.
   */
  requestTopic(_service: string, prefix: string, method: string, instance: string | undefined): string {
    if (method.includes(".")) return instance ?? requestBatchTopic(prefix);
    return instance === undefined ? requestTopic(prefix, method) : `${instance}/${method}`;
  }

  encodeRequest(id: string, _service: string, method: string, params: Params, deadline: number | undefined, stream?: StreamRequest, alive?: number): string {
    if (stream !== undefined) return encodeStreamRequest(id, method, params, this.context.responseTopic, deadline, stream);
    return encodeRequest(id, method, params, this.context.responseTopic, deadline, alive);
  }

  /** To the service's plain `P/notification`, which every instance of it reads: the one running the call acts. */
  control(_service: string, prefix: string, id: string, control: CallControl): { topic: string; payload: string } {
    const topic = `${prefix}/notification`;
    const { responseTopic } = this.context;
    return { topic, payload: "cancel" in control ? encodeCancel(id, responseTopic, control.cancel, control.timeout === true) : encodeCredit(id, responseTopic, control.granted) };
  }

  notification(_service: string, prefix: string, method: string, params: Params): { topic: string; payload: string } {
    return { topic: notificationTopic(prefix, method), payload: encodeNotification(method, params) };
  }

  answersAt(): string {
    return this.context.responseTopic;
  }

  duplicateCause(_service: string, prefix: string, seen: string): string {
    return `more than one instance serves ${prefix}${seen}`;
  }

  /** A batch holds several methods: it goes to plain `P/request`. */
  batchTopic(prefix: string): string {
    return requestBatchTopic(prefix);
  }

  joinReplies(bodies: readonly string[]): string {
    return `[${bodies.join(",")}]`;
  }

  readAnswers(message: InboundMessage, sink: AnswerSink): void {
    let value: unknown;
    try {
      value = readPayload(message.payload, this.context.maxPayloadBytes);
    } catch (error) {
      const { agentName, maxPayloadBytes, warnings } = this.context;
      const size = message.payload.byteLength;
      const why = (error as UnreadablePayload).problem === "too-large" ? `of ${size} bytes (limit ${maxPayloadBytes})` : `that is not JSON on ${message.topic}`;
      warnings.warn(BAD_RESPONSES, () => `${agentName}: dropped a response ${why}`);
      return;
    }
    // A fingerprint of the message: a QoS 1 redelivery of it is a copy, not a second answer.
    const fingerprint = fnv1a(message.payload);
    if (Array.isArray(value)) {
      for (const entry of value) settle(entry, fingerprint, sink);
      return;
    }
    settle(value, fingerprint, sink);
  }

  serve(message: InboundMessage, route: "request" | "notification", sink: InboundSink): void {
    this.server.serve(message, route, sink);
  }
}

/** Settle the call one response object answers, or hand on the stream item it carries. */
function settle(value: unknown, fingerprint: number, sink: AnswerSink): void {
  if (isPlainObject(value) && value.method === ITEM) {
    const item = decodeItem(value.params);
    // A malformed one is dropped (logged at debug); its stream names the gap it leaves.
    if (item !== undefined) sink.item(item.id, item.seq, item.item);
    else sink.unexpected(null, fingerprint);
    return;
  }
  const response = decodeResponse(value);
  if (response.id === null || !sink.expects(response.id)) {
    sink.unexpected(response.id, fingerprint);
    return;
  }
  // A stream's answer says how many items came before it.
  const items = typeof (value as { items?: unknown }).items === "number" ? ((value as { items: number }).items) : undefined;
  switch (response.kind) {
    case "result":
      sink.settle(response.id, "resolve", response.result, fingerprint, items);
      return;
    case "error":
      sink.settle(response.id, "reject", errorFromWire(response.error, sink.sent(response.id)), fingerprint, items);
      return;
    case "malformed": {
      const sent = sink.sent(response.id);
      sink.settle(response.id, "reject", new CommunicationError(`Malformed response to ${sent.method} from ${sent.target}: ${response.reason}`, { target: sent.target }));
    }
  }
}
