/**
 * The full-size flood of issue 21, measured from outside: 50 000 requests at QoS 1 without deadlines to a
 * method whose handler takes 5 s, on a Mosquitto started here with room to queue them all, once per
 * overload mode. Prints, per mode, what was lost, answered twice, run twice, the server's connection drops
 * and its RSS. `npm run bench:flood [-- <requests> [queue,reject]]`; the 5 000-request version runs in `npm test`
 * (test/overload.test.ts).
 */
import { Children } from "../test/helpers/child-process.js";
import { flood, type FloodFigures } from "../test/helpers/flood.js";
import { startMosquitto } from "../test/helpers/mosquitto.js";

const requests = Number(process.argv[2] ?? 50_000);
const MiB = 1024 * 1024;

function line(mode: string, f: FloodFigures): string {
  const first = f.firstOverloadedMs === undefined ? "-" : `${f.firstOverloadedMs.toFixed(0)} ms`;
  return `| ${mode} | ${f.requests} | ${f.results} | ${f.overloaded} | ${f.lost} | ${f.duplicates} | ${f.reruns} | ${f.serverDrops} | +${((f.rssPeak - f.rssIdle) / MiB).toFixed(1)} MiB | ${first} | ${(f.elapsedMs / 1000).toFixed(1)} s |`;
}

const children = new Children();
const mosquitto = await startMosquitto({ config: ["max_queued_messages 0"] });
try {
  console.log(`| overload | requests | results | overloaded | lost | answered twice | run twice | connection drops | server RSS | first overloaded answer after the queue filled | all answered in |`);
  console.log(`|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`);
  const modes = (process.argv[3]?.split(",") ?? ["queue", "reject"]) as ("queue" | "reject")[];
  for (const overload of modes) {
    const figures = await flood(children, { url: mosquitto.url, requests, server: { keepalive: 10, overload, agentName: `flood_${overload}` }, timeoutMs: Math.max(120_000, requests * 10) });
    console.log(line(overload, figures));
    await children.killAll();
  }
} finally {
  await children.killAll();
  await mosquitto.close();
}
