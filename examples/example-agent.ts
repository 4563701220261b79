/**
 * The agent of the OpenMAS MQTT example: serves the example contract (contracts/example.ts) with the
 * generated, validating handlers, and calls them through the generated client. Run by
 * examples/mqtt-example.ts (`npm run example`) and, for pages, by examples/browser/serve.ts
 * (`npm run example:browser`).
 */
import { ExampleServiceClient, registerExampleService } from "../generated/index.js";
import { BaseAgent } from "mqtt-contracts";

export class MqttExampleAgent extends BaseAgent {
  readonly logged: string[] = [];
  private logHandled: (() => void) | undefined;

  /** Serve the example contract (contracts/example.ts); codegen typed the handlers and validates both ends. */
  protected override async setup(): Promise<void> {
    registerExampleService(this.communicator, {
      get_status: () => ({ status: "running", agent_name: this.name }),
      echo: ({ message }) => ({ original: message, echo: message }),
      log: ({ message }) => {
        this.logged.push(message);
        console.log(`[${this.name}] log notification handled: ${message}`);
        this.logHandled?.();
      },
    });
  }

  /**
   * Call our own handlers through `serviceUrls[service]`, as the Python example does, with the generated client:
   * `test_agent` in the JSON-RPC format; our own name in OpenMAS's built-in format, which addresses agents by name.
   */
  async callSelf(service: string): Promise<void> {
    const testAgent = new ExampleServiceClient(this.communicator, service);
    const status = await testAgent.get_status();
    console.log("get_status ->", JSON.stringify(status));
    const echo = await testAgent.echo({ message: "Hello from mqtt-contracts!" });
    console.log("echo ->", JSON.stringify(echo));
    const handled = new Promise<void>((resolve) => (this.logHandled = resolve));
    await testAgent.log({ message: "notification from the example" });
    await withTimeout(handled, 5_000, "the log notification was not handled within 5 s");
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
