// The guide's "Communicators and plugins" snippet, compiled with the repository (tsc includes examples/).
import { MemoryCommunicator } from "mqtt-contracts";

class NatsCommunicator extends MemoryCommunicator {}

export async function plugins(): Promise<void> {
  // #region registry
  const { registerCommunicator, getCommunicatorClass, discoverCommunicators } = await import("mqtt-contracts");

  registerCommunicator("nats", NatsCommunicator); // a class
  registerCommunicator("zmq", async () => (await import("./zmq-communicator.js")).ZmqCommunicator); // or a lazy loader
  await discoverCommunicators(); // packages under node_modules that declare communicators
  await getCommunicatorClass("kafka"); // ConfigurationError: Unknown communicator type "kafka"; available: memory, mqtt, nats, zmq
  // #endregion registry
}
