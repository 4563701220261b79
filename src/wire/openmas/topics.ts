/**
 * Topic layout of OpenMAS's built-in MQTT communicator (`communicator_type="mqtt"` in Python):
 *
 *   <root>/<agent>/request/<method>       requests to an agent
 *   <root>/<agent>/response/<request id>  answers to a request the agent sent
 *   <root>/<agent>/notification/<method>  notifications to an agent
 *
 * `<root>` is the communicator's `topic_prefix` (`openmasTopicPrefix` here), one level, default
 * `openmas`; `<agent>` is an agent's name, one level. A caller addresses a target by its service name
 * (the `serviceUrls` key), which OpenMAS takes to be the target agent's name.
 */
import { nameProblem } from "../names.js";

/** OpenMAS's default `topic_prefix`. */
export const DEFAULT_OPENMAS_TOPIC_PREFIX = "openmas";

export type OpenMasTopicKind = "request" | "response" | "notification";

/** `<root>/<agent>/<kind>/<rest>`. */
export function openMasTopic(root: string, agent: string, kind: OpenMasTopicKind, rest: string): string {
  return `${root}/${agent}/${kind}/${rest}`;
}

/** `<root>/<agent>/<kind>/#`: what an agent subscribes to receive messages of `kind`. */
export function openMasFilter(root: string, agent: string, kind: OpenMasTopicKind): string {
  return `${root}/${agent}/${kind}/#`;
}

/**
 * Split a topic received on an agent's own filters (`base` is `<root>/<agent>/`) into its kind and the
 * rest (the method, or the request id), or `undefined` if it is none of the three. The rest is `""`
 * when the topic stops at the kind (`#` also matches its parent level).
 */
export function parseOpenMasTopic(base: string, topic: string): { kind: OpenMasTopicKind; rest: string } | undefined {
  if (!topic.startsWith(base)) return undefined;
  const slash = topic.indexOf("/", base.length);
  const kind = slash === -1 ? topic.slice(base.length) : topic.slice(base.length, slash);
  if (kind !== "request" && kind !== "response" && kind !== "notification") return undefined;
  return { kind, rest: slash === -1 ? "" : topic.slice(slash + 1) };
}

/** One level of letters, digits, `_`, `-`, `.` and `:`, short enough for any topic. */
const PLAIN_LEVEL = /^[A-Za-z0-9_.:-]{1,1024}$/;

/** Why `value` cannot be `<root>`: one level, and not a broker's (`$SYS`, `$share`). */
export function rootProblem(value: unknown): string | undefined {
  const problem = levelProblem(value);
  if (problem !== undefined) return problem;
  if ((value as string).startsWith("$")) return 'must not start with "$" (reserved for broker topics such as $SYS and $share)';
  return undefined;
}

/**
 * Why `value` cannot be one topic level (a root, an agent name, a method or a request id in this
 * layout), or `undefined` if it can. OpenMAS splits topics at `/` and reads fixed positions.
 */
export function levelProblem(value: unknown): string | undefined {
  // Ids and names are nearly always plain ASCII: those need none of the checks below.
  if (typeof value === "string" && PLAIN_LEVEL.test(value)) return undefined;
  const problem = nameProblem(value);
  if (problem !== undefined) return problem;
  if ((value as string).includes("/")) return 'must be one topic level, without "/"';
  return undefined;
}
