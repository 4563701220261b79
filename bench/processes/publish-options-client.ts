/**
 * One client of `npm run bench:publish-options`: bare mqtt.js echo calls to the hand-written server,
 * 64 in flight, publishing each request with the options `variant` names, then 5 000 calls one at a
 * time. Prints one JSON line: calls/s and bytes promoted to the old generation per call (young
 * collections, `v8.GCProfiler`) at 64 in flight, and the sequential calls' median latency.
 * `node .bench-build/bench/processes/publish-options-client.js <url> <variant>`
 */
import { GCProfiler } from "node:v8";
import mqtt, { type IClientPublishOptions } from "mqtt";
import { SequenceMap } from "../../src/communicator/sequence-map.js";
import { PacketStore } from "../../src/mqtt/packet-store.js";
import { median } from "../lib/stats.js";
import { promotedByScavenges } from "../lib/workload.js";

const VARIANTS = {
  /** No `properties` key at all. */
  plain: () => ({ qos: 1 }),
  /** A `properties` key whose value is undefined: nothing more goes on the wire. */
  "undefined properties": () => ({ qos: 1, properties: undefined }),
  /** The Message Expiry Interval, as mqtt-contracts sends it. */
  "expiry property": () => ({ qos: 1, properties: { messageExpiryInterval: 5 } }),
} satisfies Record<string, () => IClientPublishOptions>;

const REQUEST_TOPIC = "bench_handwritten/request/echo";
const IN_FLIGHT = 64;
const SEQUENTIAL_CALLS = 5_000;

async function main(url: string, variant: keyof typeof VARIANTS): Promise<void> {
  const optionsFor = VARIANTS[variant];
  // Our store, not mqtt.js's Map, and our table for the calls waiting: a churning Map's own
  // promotion would hide the effect measured here.
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, clean: true, outgoingStore: new PacketStore() });
  (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  const replyTo = `bench_handwritten/response/${client.options.clientId}`;
  const waiting = new SequenceMap<number, () => void>((id) => id);
  client.on("message", (_topic, payload) => {
    const { id } = JSON.parse(payload.toString("utf8")) as { id: number };
    waiting.delete(id)?.();
  });
  await client.subscribeAsync(replyTo, { qos: 1 });
  const params = { message: "x".repeat(86) };
  let nextId = 0;
  const call = () =>
    new Promise<void>((resolve) => {
      const id = ++nextId;
      waiting.set(id, resolve);
      client.publish(REQUEST_TOPIC, JSON.stringify({ id, method: "echo", params, replyTo }), optionsFor());
    });
  const run = async (ms: number) => {
    let calls = 0;
    const end = performance.now() + ms;
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < end) {
        await call();
        calls++;
      }
    }));
    return calls;
  };
  await run(3_000);
  const profiler = new GCProfiler();
  profiler.start();
  const calls = await run(5_000);
  const promoted = promotedByScavenges(profiler.stop());
  // Then one call at a time, as the main bench's latency phase does.
  const took: number[] = [];
  for (let i = 0; i < SEQUENTIAL_CALLS; i++) {
    const started = performance.now();
    await call();
    took.push(performance.now() - started);
  }
  const p50Ms = median(took);
  console.log(JSON.stringify({ variant, callsPerSec: calls / 5, promotedBytesPerCall: promoted / calls, p50Ms }));
  await client.endAsync();
}

const [url, variant] = process.argv.slice(2);
if (url === undefined || !(variant !== undefined && variant in VARIANTS)) {
  console.error(`usage: publish-options-client.js <url> <${Object.keys(VARIANTS).join("|")}>`);
  process.exit(64);
}
await main(url, variant as keyof typeof VARIANTS);
