/**
 * One communicator's place among the instances of its services: it announces itself with a retained
 * record (cleared by its Last Will), decides how a `sharedGroup` shares requests on this broker, watches
 * the records of its own prefix and of its targets, and says which instance a call goes to.
 */
import type { HandlerObserver, Membership, MembershipContext, RoutedFormat } from "../communicator/membership.js";
import type { HandlerOptions } from "../communicator/types.js";
import type { InboundMessage, LastWill, Transport } from "../transport/transport.js";
import { runSoon } from "../platform/runtime.js";
import { InstanceDirectory } from "./directory.js";
import { picks } from "./group-hash.js";
import { decodeRecord, discoverQueryTopic, instanceRecordFilter, instanceRequestBase, instanceTopic, parseRecordTopic, RECORD_KIND, type InstanceRecord, type Routing } from "./record.js";
import { ShareProbe } from "./share-probe.js";
import { unrefTimer } from "../platform/runtime.js";

export interface PresenceDeps extends MembershipContext {
  /** What the record says the instance serves; read when it is announced. */
  describe(): { methods: string[]; notifications: string[]; handlers: string[]; streams: string[]; schemaDigest: string };
}

const BAD_RECORDS = "discovery records that could not be read";
/** An instance publishes its record again at most this often, however often it is asked. */
const QUERY_INTERVAL_MS = 1_000;
const MAX_WARNED_PEERS = 100;

export class Presence implements Membership, HandlerObserver {
  readonly directory = new InstanceDirectory();
  /** Notifications a group delivers to one instance only. */
  private readonly deliveredToOne = new Set<string>();
  private readonly probe: ShareProbe;
  /** How requests reach this instance; decided by `open`. */
  routing: Routing = "single";
  private readonly instanceRequests: string;
  private readonly recordTopic: string;
  private readonly warnedPeers = new Set<string>();
  private startedAt = 0;
  private announced = false;
  /** The record filters subscribed by `open`. */
  private watching: string[] = [];
  /** The request filter the group shares, until this instance leaves it. */
  private groupRequests: string[] | undefined;
  private readonly queryTopic: string;
  private queryPending = false;
  private lastAnnounced = 0;
  private memberIds: string[] | undefined;
  /** The same, among the members that serve the OpenMAS format at the same `<root>/<agent>` as this one. */
  private openMasMemberIds: string[] | undefined;
  /** Whether `open` has decided the routing (until then, peers are not compared with it). */
  private decided = false;
  /** Set by `withdraw`: this instance no longer takes a share of the group's requests. */
  private leaving = false;
  /** The transport opened, to announce again when the handlers change. */
  private transport: Transport | undefined;
  private changePending = false;

  constructor(private readonly deps: PresenceDeps) {
    this.instanceRequests = instanceRequestBase(deps.prefix, deps.clientId);
    this.recordTopic = instanceTopic(deps.prefix, deps.clientId);
    this.queryTopic = discoverQueryTopic(deps.prefix);
    this.probe = new ShareProbe(deps.agentName, deps.logger);
  }

  registered(method: string, options: HandlerOptions | undefined): void {
    if (options?.kind === "notification" && options.delivery === "one") this.deliveredToOne.add(method);
    else this.deliveredToOne.delete(method);
    this.changed();
  }

  unregistered(method: string): void {
    this.deliveredToOne.delete(method);
    this.changed();
  }

  /**
   * A handler came or went after start: publish the record (again, or for the first time when the
   * communicator started with none), once for the registrations made in a row (`registerService` registers
   * each method of a contract), so that `ls` and callers see them.
   */
  private changed(): void {
    const transport = this.transport;
    if (this.leaving || transport === undefined || this.changePending) return;
    this.changePending = true;
    runSoon(() => {
      this.changePending = false;
      if (!this.leaving && transport === this.transport) void this.announce(transport);
    });
  }

  /**
   * Whether this instance takes a message every member of its group received: a request on the plain
   * topic under `instances` routing, a notification delivered to one instance (see `owns`).
   */
  admits(route: "request" | "notification", message: InboundMessage, format: RoutedFormat): boolean {
    if (route === "request" ? this.routing !== "instances" : this.routing === "single" || this.deliveredToOne.size === 0 || !this.deliveredToOne.has(format.methodOf(message.topic))) return true;
    return this.owns(message.payload, format.servedAs);
  }

  instances(prefix: string): InstanceRecord[] {
    return this.directory.instances(prefix);
  }

  /** Cleared by the broker when this instance disappears without `stop()`. */
  will(): LastWill {
    return { topic: this.recordTopic, payload: "", retain: true };
  }

  /**
   * Watch the records of this prefix and the targets, decide the routing, and return the filters that
   * bring this instance its requests (`requestFilters`, of every wire format it serves, shared in a group,
   * and its own request topic) and the discovery queries for its prefix.
   */
  async open(transport: Transport, requestFilters: readonly string[]): Promise<string[]> {
    this.startedAt = Date.now();
    const watched = [...new Set([this.deps.prefix, ...this.deps.targets])];
    if (transport.publishRetained) {
      try {
        await transport.subscribe(watched.map(instanceRecordFilter));
        this.watching = watched.map(instanceRecordFilter);
      } catch (error) {
        // Discovery is an addition: a broker ACL without it still leaves a working service.
        this.deps.logger.warn(`${this.deps.agentName}: sees no discovery records (${(error as Error).message}); allow it to subscribe to P/instance/+ for the prefixes it serves and calls`);
      }
    }
    this.routing = this.deps.group === undefined ? "single" : await this.decideRouting(transport, this.deps.group);
    this.decided = true;
    this.memberIds = undefined; // members share this instance's routing, now known
    this.openMasMemberIds = undefined;
    // Records that came while the routing was being decided are checked now.
    for (const record of this.directory.instances(this.deps.prefix)) if (record.instance !== this.deps.clientId) this.checkPeer(record);
    const requests = requestFilters.map((filter) => (this.routing === "shared" ? `$share/${this.deps.group}/${filter}` : filter));
    this.groupRequests = requests;
    this.transport = transport;
    return [...requests, `${this.instanceRequests}/#`, discoverQueryTopic(this.deps.prefix)];
  }

  /**
   * Ask the instances of the watched prefixes to publish their records again (once subscribed): for
   * brokers that do not deliver retained messages to wildcard subscriptions.
   */
  async query(transport: Transport, ownPrefix: boolean): Promise<void> {
    if (this.watching.length === 0) return;
    const prefixes = [...new Set([...(ownPrefix ? [this.deps.prefix] : []), ...this.deps.targets])];
    await Promise.all(prefixes.map((prefix) => transport.publish(discoverQueryTopic(prefix), "").catch(() => undefined)));
  }

  private async decideRouting(transport: Transport, group: string): Promise<Routing> {
    if (this.deps.routing !== "auto") return this.deps.routing;
    return this.probe.routing(transport, this.deps.prefix, this.deps.clientId, group, this.deps.probeMs);
  }

  /** Publish (or, after a reconnect, publish again) this instance's retained record. */
  async announce(transport: Transport): Promise<void> {
    if (!transport.publishRetained) return;
    const record = this.record(transport);
    this.announced = true;
    this.lastAnnounced = Date.now();
    try {
      await transport.publishRetained(this.recordTopic, JSON.stringify(record));
    } catch (error) {
      this.deps.logger.warn(`${this.deps.agentName}: could not publish its discovery record (${(error as Error).message}); it is not listed, and callers of a group do not choose it. Allow it to publish to ${this.recordTopic}`);
    }
  }

  private record(transport: Transport): InstanceRecord {
    const served = this.deps.describe();
    const record: InstanceRecord = {
      kind: RECORD_KIND,
      agent: this.deps.agentName,
      prefix: this.deps.prefix,
      instance: this.deps.clientId,
      group: this.deps.group ?? null,
      routing: this.routing,
      ...served,
      library: this.deps.library,
      protocol: transport.protocol ?? "unknown",
      startedAt: this.startedAt,
      keepaliveSeconds: this.deps.keepaliveSeconds(),
    };
    const openmas = this.deps.servedAs();
    if (openmas !== undefined) record.openmas = openmas;
    if (this.leaving) record.leaving = true;
    return record;
  }

  /**
   * On `stop()`, before the handlers drain: mark the record as leaving, so that callers stop choosing this
   * instance and know, when the record is cleared (`clear`), that it did not die with calls unanswered.
   */
  async withdraw(transport: Transport): Promise<void> {
    // Stop watching first: the broker would otherwise send our own records back while we disconnect.
    if (this.watching.length > 0) await transport.unsubscribe?.(this.watching).catch(() => undefined);
    this.watching = [];
    this.leaving = true;
    if (this.announced && transport.publishRetained) await transport.publishRetained(this.recordTopic, JSON.stringify(this.record(transport)));
    if (this.routing !== "single" && this.groupRequests !== undefined) {
      // Leave the group: from now on the others take every request (a stopping instance would only answer
      // "stopping"). Requests already addressed to this instance's own topic still get that answer.
      const filters = this.groupRequests;
      this.groupRequests = undefined;
      await transport.unsubscribe?.(filters).catch(() => undefined);
    }
  }

  /** After the handlers drained: clear the record for good. */
  async clear(transport: Transport): Promise<void> {
    this.transport = undefined;
    if (!this.announced || !transport.publishRetained) return;
    this.announced = false;
    await transport.publishRetained(this.recordTopic, "");
  }

  /** Whether `topic` is this instance's own request topic (`P/instance/<id>/request[/<method>]`). */
  isInstanceRequest(topic: string): boolean {
    return topic.startsWith(this.instanceRequests) && (topic.length === this.instanceRequests.length || topic.charCodeAt(this.instanceRequests.length) === 47);
  }

  /**
   * Someone asked for records (`P/discover`): publish ours again, at most once a second however often
   * asked, so a flood of queries cannot make this instance flood the broker.
   */
  private answerQuery(transport: Transport): void {
    if (!this.announced || this.queryPending) return;
    const wait = Math.max(0, this.lastAnnounced + QUERY_INTERVAL_MS - Date.now());
    this.queryPending = true;
    unrefTimer(
      setTimeout(() => {
        this.queryPending = false;
        if (this.announced) void this.announce(transport);
      }, wait),
    );
  }

  /** Take a record, probe or discovery query; false when `message` is none of them. */
  consume(message: InboundMessage, transport: Transport): boolean {
    if (message.topic === this.queryTopic) {
      this.answerQuery(transport);
      return true;
    }
    if (this.probe.consume(message)) return true;
    const where = parseRecordTopic(message.topic);
    if (where === undefined) return false;
    const record = decodeRecord(message.topic, message.payload);
    if (typeof record === "string") {
      this.deps.warnings.warn(BAD_RECORDS, () => `${this.deps.agentName}: ignored a discovery record on ${message.topic}: ${record}`);
      return true;
    }
    const previous = this.directory.update(where.prefix, where.instance, record);
    if (record === undefined && previous !== undefined && previous.leaving !== true && where.instance !== this.deps.clientId) this.deps.onInstanceLost(where.prefix, where.instance, instanceRequestBase(where.prefix, where.instance));
    if (where.prefix === this.deps.prefix) this.memberIds = this.openMasMemberIds = undefined;
    if (record !== undefined && this.decided && where.prefix === this.deps.prefix && where.instance !== this.deps.clientId) this.checkPeer(record);
    return true;
  }

  /** Another instance on our prefix: say so when the two would both run every request. */
  private checkPeer(peer: InstanceRecord): void {
    const group = this.deps.group;
    if (group !== undefined && peer.group === group) {
      if (peer.routing !== this.routing && this.warnedPeers.size < MAX_WARNED_PEERS && !this.warnedPeers.has(peer.instance)) {
        this.warnedPeers.add(peer.instance);
        this.deps.logger.warn(
          `${this.deps.agentName}: instance ${peer.instance} of group ${group} routes requests as "${peer.routing}", this one as "${this.routing}": requests may run on both. Set the same sharedRouting on every instance`,
        );
      }
      return;
    }
    if (this.warnedPeers.size >= MAX_WARNED_PEERS || this.warnedPeers.has(peer.instance)) return;
    this.warnedPeers.add(peer.instance);
    const theirs = peer.group === null ? "no sharedGroup" : `sharedGroup ${peer.group}`;
    const ours = group === undefined ? "none" : group;
    this.deps.logger.warn(
      `${this.deps.agentName}: instance ${peer.instance} (agent ${peer.agent}) also serves ${this.deps.prefix}, with ${theirs} (this one: ${ours}): every request to ${this.deps.prefix} runs on both. Give every instance the same sharedGroup to share the work`,
    );
  }

  /**
   * The members of this instance's group that share plain-topic requests by hash, sorted; this one included.
   * Kept until a record of this prefix changes: `owns` asks for every such request.
   */
  private members(openmas: string | undefined): string[] {
    if (openmas === undefined) return (this.memberIds ??= this.findMembers(undefined));
    return (this.openMasMemberIds ??= this.findMembers(openmas));
  }

  private findMembers(openmas: string | undefined): string[] {
    const group = this.deps.group;
    const ids = this.directory
      .instances(this.deps.prefix)
      .filter((record) => record.group === group && record.routing === this.routing && record.leaving !== true && (openmas === undefined || record.openmas === openmas))
      .map((record) => record.instance);
    if (!ids.includes(this.deps.clientId)) ids.push(this.deps.clientId);
    return ids.sort();
  }

  /**
   * In a group, whether this instance takes a message every member received (a request on the plain
   * topic under `instances` routing, a notification delivered to one instance): the member a hash of the
   * payload picks. Every member hashes the same bytes, so exactly one runs it while they agree on who
   * the members are. A message in the OpenMAS format (`openmas` is this instance's `<root>/<agent>`) reaches
   * only the members with the same agent name: the hash picks among those.
   */
  owns(payload: Uint8Array, openmas?: string): boolean {
    if (this.leaving) return false;
    return picks(this.members(openmas), this.deps.clientId, payload);
  }

  /** The instance topic base a call to `prefix` goes to, or undefined for the plain request topic. */
  instanceFor(prefix: string): string | undefined {
    const instance = this.directory.pick(prefix);
    return instance === undefined ? undefined : instanceRequestBase(prefix, instance);
  }
}
