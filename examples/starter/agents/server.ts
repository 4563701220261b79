import { pathToFileURL } from "node:url";
import { BaseAgent, agentConfigFromEnv } from "mqtt-contracts";
import { registerGreeterService } from "../generated/index.js";

/** Serves the greeter contract under its name, "greeter", which is its topic prefix. */
export class GreeterServer extends BaseAgent {
  private count = 0;

  protected override async setup(): Promise<void> {
    // The generated handler interface: a missing handler or a wrong result type does not compile.
    registerGreeterService(this.communicator, {
      greet: ({ name }) => ({ greeting: `Hello, ${name}!`, count: ++this.count }),
      // A streaming method: yield each item, return the result; context.signal aborts if the caller cancels.
      async *countdown({ from }) {
        for (let n = from; n > 0; n--) yield { n };
        return { done: true };
      },
      wave: ({ from }) => console.log(`server: ${from} waved`),
    });
  }
}

/** On its own: serve until Ctrl-C. The broker comes from MQTT_URL (default mqtt://localhost:1883). */
async function main(): Promise<void> {
  const server = new GreeterServer(agentConfigFromEnv({ name: "greeter" }));
  await server.start();
  console.log("server: greeter is serving; Ctrl-C to stop");
  await new Promise((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.stop();
  console.log("server: stopped");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
