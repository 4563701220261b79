/**
 * The membership port: what the RPC core asks of "this instance among the others" (its discovery
 * record, the routing of its `sharedGroup`, the instances of its targets) and the observers that
 * describe and count its handlers. The core calls these interfaces; `src/instances/` implements them,
 * and the concrete communicators (`mqtt`, `memory`) plug that implementation in. Without it a
 * communicator is a lone instance: no records, no groups.
 */
import { ConfigurationError } from "../errors/errors.js";
import type { Logger } from "../logger.js";
import type { WarningLimiter } from "../log/warning-limiter.js";
import type { InboundMessage, LastWill, Transport } from "../transport/transport.js";
import type { Handler, HandlerOptions } from "./types.js";

/** Marks a payload as one of our records. */
export const RECORD_KIND = "mqtt-contracts/instance";

/**
 * How requests reach one instance of a service:
 * - `single`: no group; every instance subscribed to `P/request/#` runs every request;
 * - `shared`: a group on a broker that delivers `$share` subscriptions; the broker picks the instance;
 * - `instances`: a group on a broker that does not; callers that read the records publish to one
 *   instance's topic (`P/instance/<id>/request/<method>`), and requests on `P/request/#` from peers that
 *   know nothing of instances run on the instance that a hash of their payload picks.
 */
export type Routing = "single" | "shared" | "instances";

export interface InstanceRecord {
  kind: typeof RECORD_KIND;
  /** The agent's name. */
  agent: string;
  /** The topic prefix the instance serves. */
  prefix: string;
  /** The instance's MQTT client id; its record is at `P/instance/<instance>`. */
  instance: string;
  /** Its `sharedGroup`, or null. */
  group: string | null;
  routing: Routing;
  /** Methods that answer requests, by name. */
  methods: string[];
  /** Notifications it handles, by name. */
  notifications: string[];
  /** The methods among `methods` that stream (declare `yields`). Absent in records of versions before streams. */
  streams?: string[];
  /** Handlers registered without a contract: could be either. */
  handlers: string[];
  /** SHA-256 (hex) of its `rpc.discover` document: equal digests, equal contracts. */
  schemaDigest: string;
  /** `mqtt-contracts@<version>`. */
  library: string;
  /** The MQTT protocol version in use: "5" or "3.1.1" (or the transport's name). */
  protocol: string;
  /** When it started, in ms since the epoch. */
  startedAt: number;
  /** The connection's keepalive in seconds: the broker publishes the Last Will within ~1.5× of it. */
  keepaliveSeconds: number;
  /**
   * `<root>/<agent name>` when the instance also serves OpenMAS's built-in MQTT format there
   * (`wireFormat: "openmas"`); absent otherwise, and in records of versions before that format.
   */
  openmas?: string;
  /**
   * True once the instance is stopping: it answers what it has taken, takes nothing new, and clears the record
   * when it is done. A record cleared without it first (by the Last Will) is an instance that died.
   */
  leaving?: true;
}

/** The part of a wire format that group routing needs: whom a message names, and where the format serves this agent. */
export interface RoutedFormat {
  readonly servedAs: string | undefined;
  methodOf(topic: string): string;
}

export interface Membership {
  /** How requests reach this instance; decided by `open`. */
  readonly routing: Routing;
  /** The MQTT Last Will this instance's connection carries: it clears the record. */
  will(): LastWill;
  /**
   * Watch the records of this prefix and the targets, decide the routing, and return the filters that bring
   * this instance its requests (`requestFilters`, shared in a group, and its own request topic) and the
   * discovery queries for its prefix.
   */
  open(transport: Transport, requestFilters: readonly string[]): Promise<string[]>;
  /** Publish (again, after a reconnect) this instance's record. */
  announce(transport: Transport): Promise<void>;
  /** Ask the watched prefixes' instances for their records. */
  query(transport: Transport, ownPrefix: boolean): Promise<void>;
  /** On `stop()`, before the handlers drain: mark the record as leaving and leave the group. */
  withdraw(transport: Transport): Promise<void>;
  /** After the handlers drained: clear the record. */
  clear(transport: Transport): Promise<void>;
  /** Whether `topic` is this instance's own request topic. */
  isInstanceRequest(topic: string): boolean;
  /** Take a record, probe or discovery query; false when `message` is none of them. */
  consume(message: InboundMessage, transport: Transport): boolean;
  /** Whether this instance takes a request or notification that every member of its group received. */
  admits(route: "request" | "notification", message: InboundMessage, format: RoutedFormat): boolean;
  /** The instance topic base a call to `prefix` goes to, or undefined for the plain request topic. */
  instanceFor(prefix: string): string | undefined;
  /** The live instances of `prefix` as seen in their records. */
  instances(prefix: string): InstanceRecord[];
}

/** Told of every handler registered and removed, with what `registerHandler` was told of it. */
export interface HandlerObserver {
  registered(method: string, options: HandlerOptions | undefined): void;
  unregistered(method: string): void;
}

/** Told of every request a handler of the service's own answered. */
export interface CallObserver {
  finished(method: string, elapsedMs: number, failed: boolean): void;
}

/** What the core gives the membership implementation. */
export interface MembershipContext {
  agentName: string;
  prefix: string;
  clientId: string;
  group: string | undefined;
  routing: "auto" | "shared" | "instances";
  /** How long the `$share` check waits, in ms. */
  probeMs: number;
  /** The prefixes of the services this communicator calls. */
  targets: readonly string[];
  keepaliveSeconds: () => number;
  library: string;
  logger: Logger;
  warnings: WarningLimiter;
  /** When the communicator started, ms since the epoch. */
  startedAt: () => number;
  /** Where another wire format serves this agent (OpenMAS's `<root>/<agent name>`), for the record. */
  servedAs: () => string | undefined;
  /** An instance of a target's group died with calls to `requestBase` unanswered. */
  onInstanceLost: (prefix: string, instance: string, requestBase: string) => void;
}

/** What a membership implementation plugs into the core. */
export interface CommunicatorParts {
  membership: Membership;
  /** Told of handler changes: the catalog behind `rpc.discover`, the group's delivery rules. */
  observers: readonly HandlerObserver[];
  /** Counts finished calls (`rpc.stats`). */
  calls?: CallObserver | undefined;
  /** Methods every server answers unless a handler of its own takes the name (`rpc.discover`, `rpc.stats`). */
  builtins?: ReadonlyMap<string, Handler<any, any>> | undefined;
}

export type CommunicatorPartsFactory = (context: MembershipContext) => CommunicatorParts;

/** A lone instance: no record, no group, no targets' instances. */
export function loneInstance(context: MembershipContext): CommunicatorParts {
  if (context.group !== undefined) throw new ConfigurationError(`sharedGroup ${JSON.stringify(context.group)}: ${context.agentName}'s communicator type has no instance groups`);
  const membership: Membership = {
    routing: "single",
    will: () => ({ topic: `${context.prefix}/instance/${context.clientId}`, payload: "", retain: true }),
    open: async (_transport, requestFilters) => [...requestFilters],
    announce: async () => undefined,
    query: async () => undefined,
    withdraw: async () => undefined,
    clear: async () => undefined,
    isInstanceRequest: () => false,
    consume: () => false,
    admits: () => true,
    instanceFor: () => undefined,
    instances: () => [],
  };
  return { membership, observers: [] };
}
