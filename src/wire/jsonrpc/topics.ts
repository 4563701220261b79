/**
 * Topic layout of the default wire profile (compatible with the OpenMAS MQTT example).
 * `prefix` is a service's topic prefix: a `serviceUrls` value, or a server's own `topicPrefix`.
 */

/** `P/request/<method>`: where requests for `method` are published. */
export function requestTopic(prefix: string, method: string): string {
  return `${prefix}/request/${method}`;
}

/** `P/request`: where a client publishes a JSON-RPC batch (it may hold several methods). */
export function requestBatchTopic(prefix: string): string {
  return `${prefix}/request`;
}

/** `P/notification/<method>`: where notifications for `method` are published. */
export function notificationTopic(prefix: string, method: string): string {
  return `${prefix}/notification/${method}`;
}

/** `P/response/<clientId>`: the one response topic of a communicator instance. */
export function responseTopic(prefix: string, clientId: string): string {
  return `${prefix}/response/${clientId}`;
}

/** `P/request/#`: also matches plain `P/request`, the form the Python example publishes to. */
export function requestFilter(prefix: string): string {
  return `${prefix}/request/#`;
}

/** `P/notification/#`. */
export function notificationFilter(prefix: string): string {
  return `${prefix}/notification/#`;
}

export type TopicKind = "request" | "notification";

/** Classify a topic received on a server's own filters, or `undefined` if it is neither. */
export function classifyTopic(prefix: string, topic: string): TopicKind | undefined {
  if (!topic.startsWith(prefix) || topic.charCodeAt(prefix.length) !== 47 /* "/" */) return undefined;
  const rest = topic.slice(prefix.length + 1);
  if (rest === "request" || rest.startsWith("request/")) return "request";
  if (rest === "notification" || rest.startsWith("notification/")) return "notification";
  return undefined;
}
