import { Aedes } from "aedes";
import { afterEach, expect, it, vi } from "vitest";
import { MqttCommunicator } from "mqtt-contracts";
import { inProcessStream } from "../src/broker/in-process-stream.js";
import { recordingLogger } from "./helpers/recording-logger.js";

let aedes: Aedes | undefined;
let communicator: MqttCommunicator | undefined;

afterEach(async () => {
  await communicator?.stop();
  await new Promise<void>((resolve) => (aedes ? aedes.close(() => resolve()) : resolve()));
  communicator = aedes = undefined;
});

// mqtt.js re-arms its ping timer on every acknowledgement by default, so a connection that carries
// calls never pings. The communicator pings on a fixed beat instead (`reschedulePings: false`),
// which saves two timer operations per QoS 1 message and still tells a dead broker from a quiet one.
it("pings the broker every keepalive while calls keep flowing", async () => {
  aedes = await Aedes.createBroker();
  const pings: number[] = [];
  aedes.on("ping", () => pings.push(Date.now()));
  const broker = aedes;
  communicator = new MqttCommunicator({
    agentName: "pinger",
    serviceUrls: { pinger: "pinger" },
    options: { streamBuilder: () => inProcessStream(broker.handle), keepalive: 1 },
    logger: recordingLogger(),
  });
  communicator.registerHandler("echo", (params) => params);
  await communicator.start();

  // A call every 50 ms: each one's PUBACKs would re-arm a rescheduling ping timer long before it fired.
  let answered = 0;
  let flowing = true;
  const traffic = (async () => {
    while (flowing) {
      await communicator!.sendRequest("pinger", "echo", { n: answered });
      answered++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    await vi.waitFor(() => expect(pings.length).toBeGreaterThanOrEqual(2), { timeout: 6_000, interval: 50 });
  } finally {
    flowing = false;
    await traffic;
  }
  expect(answered).toBeGreaterThan(10);
});
