import { startBroker } from "mqtt-contracts";
import { GreeterCaller } from "./client.js";
import { GreeterServer } from "./server.js";

// `npm start`: an embedded broker (nothing to install), the server, and the client, in one process.
const broker = await startBroker();
const options = { url: broker.url };
const server = new GreeterServer({ name: "greeter", communicatorOptions: options });
const client = new GreeterCaller({ name: "caller", communicatorOptions: options, serviceUrls: { greeter: "greeter" } });
try {
  await server.start();
  await client.start(); // runs the client's calls
} finally {
  await client.stop();
  await server.stop();
  await broker.close();
}
console.log("main: both agents talked over the embedded broker at", broker.url);
