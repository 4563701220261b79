import mqtt, { type IStore } from "mqtt";
import { SequenceMap } from "../communicator/sequence-map.js";
import type { PublishTicket } from "../transport/transport.js";

type Packet = Parameters<IStore["put"]>[0];
type PacketCallback = Parameters<IStore["get"]>[1];

/**
 * mqtt.js's in-memory store of QoS 1 and 2 packets awaiting acknowledgement (its `outgoingStore`
 * option), on a `SequenceMap` by packet id instead of mqtt.js's own `Map`: a QoS 1 request is put
 * here when published and deleted at its PUBACK, so this table churns once per call (see
 * `SequenceMap` for what a `Map` costs then). It behaves like mqtt.js's `Store`: `put` replaces a
 * packet with the same id in place, and `createStream` replays the packets oldest first after a
 * reconnect.
 */
export class PacketStore implements IStore {
  private readonly packets = new SequenceMap<number, Packet>((messageId) => messageId);

  /**
   * Set by the transport around a `publish` call: mqtt.js stores a QoS 1 publish synchronously inside
   * `publish` (also while offline), so the packet put then is that publish's, and its id goes on the ticket.
   */
  expecting: PublishTicket | undefined;

  put(packet: Packet, cb: () => void): this {
    // mqtt.js puts only packets with an id here (publishes at QoS 1 and 2, PUBRELs).
    if (packet.messageId !== undefined) this.packets.set(packet.messageId, packet);
    if (this.expecting !== undefined && packet.cmd === "publish") {
      this.expecting.packetId = packet.messageId;
      this.expecting = undefined;
    }
    cb?.();
    return this;
  }

  get(packet: { messageId?: number | undefined }, cb: PacketCallback): this {
    const stored = packet.messageId === undefined ? undefined : this.packets.get(packet.messageId);
    if (stored !== undefined) cb(undefined, stored);
    else cb?.(new Error("missing packet"));
    return this;
  }

  del(packet: { messageId?: number | undefined }, cb: PacketCallback): this {
    const stored = packet.messageId === undefined ? undefined : this.packets.delete(packet.messageId);
    if (stored !== undefined) cb(undefined, stored);
    else cb?.(new Error("missing packet"));
    return this;
  }

  /** The packets stored now, oldest first. */
  createStream(): ReturnType<IStore["createStream"]> {
    // mqtt.js reads it as a stream of objects (`read`, `readable`, `end`, `destroy`): its own Store makes
    // one, in Node and in its browser build alike (no node:stream here). Only after a reconnect, so a copy is cheap.
    const snapshot = new mqtt.Store();
    for (const packet of this.packets.values()) snapshot.put(packet, noop);
    return snapshot.createStream();
  }

  /**
   * Count a lost connection against every publish still waiting for its acknowledgement, and return
   * those that have now been in flight when `limit` connections in a row were lost. A publish the
   * broker answers by disconnecting (a topic or payload it refuses) would otherwise be replayed on
   * every reconnect and take the connection down each time, for good.
   */
  strike(limit: number): { messageId: number; topic: string }[] {
    const out: { messageId: number; topic: string }[] = [];
    for (const packet of this.packets.values()) {
      if (packet.cmd !== "publish" || packet.messageId === undefined) continue;
      const strikes = (this.strikes.get(packet) ?? 0) + 1;
      this.strikes.set(packet, strikes);
      if (strikes >= limit) out.push({ messageId: packet.messageId, topic: packet.topic });
    }
    return out;
  }

  /** Lost connections each stored publish was in flight for; gone with the packet. */
  private readonly strikes = new WeakMap<object, number>();

  /** mqtt.js calls this on `end()`; the store stays usable if the client connects again. */
  close(cb: () => void): void {
    this.packets.clear();
    cb?.();
  }
}

function noop(): void {}
