import { Aedes } from "aedes";
import mqtt, { type IPublishPacket, type MqttClient } from "mqtt";
import { afterEach, describe, expect, it, vi } from "vitest";
import { inProcessStream } from "../src/broker/in-process-stream.js";
import { PacketStore } from "../src/mqtt/packet-store.js";

function publish(messageId: number, payload = `m${messageId}`): IPublishPacket {
  return { cmd: "publish", messageId, topic: "t", payload, qos: 1, dup: false, retain: false };
}

/** What a store's `createStream` yields, in order. */
async function streamed(store: PacketStore): Promise<unknown[]> {
  const packets: unknown[] = [];
  for await (const packet of store.createStream() as unknown as AsyncIterable<unknown>) packets.push(packet);
  return packets;
}

/** `get` or `del` as a promise of [error, packet]. */
function lookup(store: PacketStore, how: "get" | "del", messageId: number): Promise<[Error | undefined, unknown]> {
  return new Promise((resolve) => store[how]({ messageId }, (error, packet) => resolve([error ?? undefined, packet])));
}

describe("PacketStore", () => {
  it("gets and deletes packets by id, and says which are missing", async () => {
    const store = new PacketStore();
    store.put(publish(7), () => undefined);
    expect(await lookup(store, "get", 7)).toEqual([undefined, publish(7)]);
    expect(await lookup(store, "del", 7)).toEqual([undefined, publish(7)]);
    const [error, packet] = await lookup(store, "get", 7);
    expect(error?.message).toBe("missing packet");
    expect(packet).toBeUndefined();
    expect((await lookup(store, "del", 7))[0]?.message).toBe("missing packet");
  });

  it("replays packets oldest first, across the wrap of packet ids and a replaced packet", async () => {
    const store = new PacketStore();
    const ids = [65_533, 65_534, 65_535, 1, 2, 3, 65, 129];
    for (const id of ids) store.put(publish(id), () => undefined);
    store.put(publish(65_534, "replaced"), () => undefined); // same id: same place, new packet
    await lookup(store, "del", 2);
    const replayed = (await streamed(store)) as IPublishPacket[];
    expect(replayed.map((packet) => packet.messageId)).toEqual([65_533, 65_534, 65_535, 1, 3, 65, 129]);
    expect(replayed[1]!.payload).toBe("replaced");
  });

  it("keeps thousands of packets, and is empty and still usable after close", async () => {
    const store = new PacketStore();
    for (let id = 1; id <= 5_000; id++) store.put(publish(id), () => undefined);
    for (let id = 1; id <= 5_000; id += 2) await lookup(store, "del", id);
    expect(((await streamed(store)) as IPublishPacket[]).map((packet) => packet.messageId)).toEqual(Array.from({ length: 2_500 }, (_, i) => 2 * i + 2));
    await new Promise<void>((resolve) => store.close(resolve));
    expect(await streamed(store)).toEqual([]);
    store.put(publish(9), () => undefined);
    expect(await lookup(store, "get", 9)).toEqual([undefined, publish(9)]);
  });
});

describe("PacketStore in mqtt.js, against aedes", () => {
  let aedes: Aedes | undefined;
  const clients: MqttClient[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
    await new Promise<void>((resolve) => (aedes ? aedes.close(() => resolve()) : resolve()));
  });

  it("sends a QoS 1 publish the broker never acknowledged again after a reconnect, from this store", async () => {
    let held = 0;
    aedes = await Aedes.createBroker({
      // The broker sends no PUBACK until this calls back: the first copy of "held" is never authorized.
      authorizePublish: (_client, packet, callback) => {
        if (packet.topic === "held" && held++ === 0) return;
        callback(null);
      },
    });
    const broker = aedes;
    const connect = (options: mqtt.IClientOptions) => {
      const client = new mqtt.MqttClient(() => inProcessStream(broker.handle) as any, { protocolVersion: 4, ...options });
      clients.push(client);
      return new Promise<MqttClient>((resolve) => client.once("connect", () => resolve(client)));
    };
    const subscriber = await connect({ reconnectPeriod: 0 });
    await subscriber.subscribeAsync("held", { qos: 1 });
    const received = new Promise<string>((resolve) => subscriber.on("message", (_topic, payload) => resolve(payload.toString())));

    const store = new PacketStore();
    const publisher = await connect({ reconnectPeriod: 20, outgoingStore: store });
    const acknowledged = publisher.publishAsync("held", "once more", { qos: 1 });
    await vi.waitFor(() => expect(held).toBe(1), { timeout: 5_000, interval: 5 });
    expect((await streamed(store)).length).toBe(1);

    publisher.stream.destroy(); // the connection drops before the PUBACK; mqtt.js reconnects by itself
    await expect(received).resolves.toBe("once more");
    await acknowledged;
    expect(held).toBe(2);
    expect(await streamed(store)).toEqual([]);
  });
});
