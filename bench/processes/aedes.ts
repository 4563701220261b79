/** The embedded aedes broker in a process of its own: `node --import tsx bench/processes/aedes.ts`. */
import { startBroker, type EmbeddedBroker } from "mqtt-contracts";
import { serve } from "../lib/child-side.js";

let broker: EmbeddedBroker | undefined;

await serve(
  async () => {
    broker = await startBroker({ host: "127.0.0.1", port: 0 });
    return { url: broker.url, port: broker.port };
  },
  async () => {
    await broker?.close();
  },
);
