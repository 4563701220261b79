/**
 * The page's callers: one `MqttCommunicator` (this package's runtime) per topic prefix it calls, a service's
 * `P` or one instance's `P/instance/<id>`, made when first needed. A communicator's targets are fixed when it
 * is built, so each prefix gets its own; the page calls only a few.
 */
import { MqttCommunicator } from "../../mqtt/mqtt-communicator.js";
import type { MqttCommunicatorOptions } from "../../mqtt/mqtt-options.js";
import type { Logger } from "../../logger.js";

/** The `serviceUrls` key every page communicator calls its one prefix under. */
export const TARGET = "target";
const MAX_CLIENTS = 64;

export class Clients {
  private readonly clients = new Map<string, Promise<MqttCommunicator>>();

  constructor(
    private readonly connection: MqttCommunicatorOptions,
    private readonly logger: Logger,
  ) {}

  /** A started communicator that calls `prefix` as `TARGET`. */
  for(prefix: string): Promise<MqttCommunicator> {
    let client = this.clients.get(prefix);
    if (client === undefined) {
      if (this.clients.size >= MAX_CLIENTS) void this.drop(this.clients.keys().next().value!);
      client = this.start(prefix);
      this.clients.set(prefix, client);
      client.catch(() => this.clients.delete(prefix));
    }
    return client;
  }

  /** Stop the communicator of `prefix`, if there is one. */
  async drop(prefix: string): Promise<void> {
    const client = this.clients.get(prefix);
    this.clients.delete(prefix);
    await client?.then((c) => c.stop()).catch(() => undefined);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.clients.keys()].map((prefix) => this.drop(prefix)));
  }

  private async start(prefix: string): Promise<MqttCommunicator> {
    const communicator = new MqttCommunicator({
      agentName: "mqtt-contracts-ui",
      serviceUrls: { [TARGET]: prefix },
      options: { ...this.connection, waitForBroker: false },
      logger: this.logger,
    });
    await communicator.start();
    return communicator;
  }
}
