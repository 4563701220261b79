import { pathToFileURL } from "node:url";
import { BaseAgent, ValidationError, agentConfigFromEnv } from "mqtt-contracts";
import { GreeterServiceClient } from "../generated/index.js";

/** Calls the greeter through the generated client: typed params, typed results, validated at both ends. */
export class GreeterCaller extends BaseAgent {
  protected override async run(): Promise<void> {
    // "greeter" is a key of this agent's serviceUrls.
    const greeter = new GreeterServiceClient(this.communicator, "greeter");

    await greeter.wave({ from: this.name }); // a notification: resolves once the broker has it

    const { greeting, count } = await greeter.greet({ name: "Ada" });
    console.log(`client: ${greeting} (greeting #${count})`);

    // A stream: the items as they come, then the result.
    const countdown = greeter.countdown({ from: 3 });
    const numbers: number[] = [];
    for await (const { n } of countdown) numbers.push(n);
    console.log(`client: countdown ${numbers.join(" ")}, done: ${(await countdown.result).done}`);

    try {
      await greeter.greet({ name: "" }); // the contract says min(1): refused before anything is sent
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      console.log(`client: ValidationError ${error.code}: ${error.message}`);
    }
  }
}

/** On its own: call once and exit. The broker comes from MQTT_URL (default mqtt://localhost:1883). */
async function main(): Promise<void> {
  const client = new GreeterCaller(agentConfigFromEnv({ name: "caller", serviceUrls: { greeter: "greeter" } }));
  await client.start(); // runs run()
  await client.stop();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
