import { ConfigurationError } from "../errors/errors.js";
import { utf8Length } from "../platform/bytes.js";

/** The largest MQTT topic, in UTF-8 bytes. */
const MAX_TOPIC_BYTES = 65_535;

/**
 * How many levels a response topic may have, by default: Mosquitto's limit. A broker that gets a
 * publish to a deeper topic disconnects the publisher.
 */
export const DEFAULT_MAX_TOPIC_LEVELS = 200;

/**
 * Code points a broker refuses in a topic (MQTT 5 §1.5.4; Mosquitto disconnects the publisher): C0 and
 * C1 controls (U+0000 included) and the non-characters U+FDD0–U+FDEF and U+xFFFE/U+xFFFF of every plane.
 */
const REFUSED_CODE_POINTS = new RegExp(
  `[\\u0000-\\u001f\\u007f-\\u009f\\ufdd0-\\ufdef\\ufffe\\uffff${Array.from({ length: 16 }, (_, plane) => `\\u{${(plane + 1).toString(16)}fffe}\\u{${(plane + 1).toString(16)}ffff}`).join("")}]`,
  "u",
);

/** Why `value` cannot be used inside a topic, or `undefined` if it can. */
function topicProblem(value: unknown): string | undefined {
  if (typeof value !== "string") return `must be a string, got ${value === null ? "null" : typeof value}`;
  if (value.length === 0) return "must not be empty";
  if (value.includes("+")) return 'must not contain the MQTT wildcard "+"';
  if (value.includes("#")) return 'must not contain the MQTT wildcard "#"';
  if (!value.isWellFormed()) return "must be well-formed UTF-8 (it has a lone surrogate)";
  const refused = REFUSED_CODE_POINTS.exec(value);
  if (refused !== null) {
    const code = `U+${refused[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
    return code === "U+0000" ? "must not contain NUL" : `must not contain ${code} (control characters and non-characters are refused by brokers)`;
  }
  if (utf8Length(value) > MAX_TOPIC_BYTES) return `must be at most ${MAX_TOPIC_BYTES} bytes`;
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

/**
 * Why `topic` (from the network) cannot be published to as a response topic, or `undefined`: anything a
 * broker could refuse, since a broker answers such a publish by disconnecting the publisher.
 */
export function responseTopicProblem(topic: unknown, maxLevels = DEFAULT_MAX_TOPIC_LEVELS): string | undefined {
  const problem = topicProblem(topic);
  if (problem !== undefined) return problem;
  const text = topic as string;
  if (text.startsWith("$")) return 'must not start with "$" (reserved for broker topics such as $SYS)';
  if (levelsOver(text, maxLevels)) return `must have at most ${maxLevels} levels`;
  return undefined;
}

function levelsOver(topic: string, max: number): boolean {
  let levels = 1;
  for (let i = topic.indexOf("/"); i !== -1; i = topic.indexOf("/", i + 1)) if (++levels > max) return true;
  return false;
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
