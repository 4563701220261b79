import { ConfigurationError } from "../errors/errors.js";

/** The largest MQTT topic, in UTF-8 bytes. */
const MAX_TOPIC_BYTES = 65_535;

/** Why `value` cannot be used inside a topic, or `undefined` if it can. */
function topicProblem(value: unknown): string | undefined {
  if (typeof value !== "string") return `must be a string, got ${value === null ? "null" : typeof value}`;
  if (value.length === 0) return "must not be empty";
  if (value.includes("+")) return 'must not contain the MQTT wildcard "+"';
  if (value.includes("#")) return 'must not contain the MQTT wildcard "#"';
  if (value.includes("\u0000")) return "must not contain NUL";
  if (Buffer.byteLength(value, "utf8") > MAX_TOPIC_BYTES) return `must be at most ${MAX_TOPIC_BYTES} bytes`;
  return undefined;
}

/** Why `prefix` is not a valid topic prefix, or `undefined`. */
export function prefixProblem(prefix: unknown): string | undefined {
  const problem = topicProblem(prefix);
  if (problem !== undefined) return problem;
  const text = prefix as string;
  if (text.startsWith("$")) return 'must not start with "$" (reserved for broker topics such as $SYS)';
  if (text.endsWith("/")) return 'must not end with "/"';
  return undefined;
}

/** Why `name` is not a valid agent, method or client id, or `undefined`. */
export function nameProblem(name: unknown): string | undefined {
  return topicProblem(name);
}

/** Why `topic` (from the network) cannot be published to as a response topic, or `undefined`. */
export function responseTopicProblem(topic: unknown): string | undefined {
  const problem = topicProblem(topic);
  if (problem !== undefined) return problem;
  if ((topic as string).startsWith("$")) return 'must not start with "$" (reserved for broker topics such as $SYS)';
  return undefined;
}

function quote(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** Throw a `ConfigurationError` naming `what` and the value unless `prefix` is a valid topic prefix. */
export function assertPrefix(what: string, prefix: unknown): asserts prefix is string {
  const problem = prefixProblem(prefix);
  if (problem !== undefined) throw new ConfigurationError(`${what} ${quote(prefix)} ${problem}`, { details: { [what]: prefix } });
}

/** Throw a `ConfigurationError` naming `what` and the value unless `name` can stand in a topic. */
export function assertName(what: string, name: unknown): asserts name is string {
  const problem = nameProblem(name);
  if (problem !== undefined) throw new ConfigurationError(`${what} ${quote(name)} ${problem}`, { details: { [what]: name } });
}
