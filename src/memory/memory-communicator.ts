import { z } from "zod";
import { BaseCommunicator } from "../communicator/base-communicator.js";
import { instanceParts } from "../instances/parts.js";
import { commonOptionsShape } from "../communicator/options.js";
import type { MessageSink, Transport } from "../transport/transport.js";
import type { CommunicatorInit } from "../communicator/types.js";
import { parseCommunicatorOptions } from "../communicator/parse-options.js";
import { MemoryBus } from "./memory-bus.js";

/** The schema of the `memory` communicator's options; built anew on each call, like `mqttCommunicatorOptionsSchema`. */
export const memoryCommunicatorOptionsSchema = () =>
  z
    .object({
      /** The bus to join. Default: `MemoryBus.default`, shared by the whole process. */
      bus: z.instanceof(MemoryBus).optional(),
      ...commonOptionsShape(),
    })
    .strict();

export type MemoryCommunicatorOptions = z.input<ReturnType<typeof memoryCommunicatorOptionsSchema>>;

/**
 * The `memory` communicator: the same RPC core, wire format and semantics as `mqtt`, over an
 * in-process bus instead of a broker. Meant for testing agents without a broker. Requests carry
 * MQTT 5 style properties, so handlers see the caller's deadline.
 */
export class MemoryCommunicator extends BaseCommunicator {
  private readonly bus: MemoryBus;

  constructor(init: CommunicatorInit<MemoryCommunicatorOptions>) {
    const options = parseCommunicatorOptions("memory", init.agentName, memoryCommunicatorOptionsSchema(), init.options);
    super(init, options, instanceParts);
    this.bus = options.bus ?? MemoryBus.default;
  }

  protected override async openTransport(sink: MessageSink): Promise<Transport> {
    const bus = this.bus;
    const subscriptions = new Map<string, () => void>();
    return {
      supportsProperties: true,
      protocol: "memory",
      // The bus has no $share: groups spread requests over instance topics at once, with no probe.
      sharedSubscriptionAvailable: false,
      async subscribe(filters) {
        for (const filter of filters) {
          subscriptions.get(filter)?.();
          subscriptions.set(filter, bus.subscribe([filter], sink));
        }
      },
      async unsubscribe(filters) {
        for (const filter of filters) {
          subscriptions.get(filter)?.();
          subscriptions.delete(filter);
        }
      },
      async publish(topic, payload, properties) {
        bus.publish(topic, payload, properties);
      },
      async publishRetained(topic, payload) {
        bus.publishRetained(topic, payload);
      },
      async close() {
        for (const unsubscribe of subscriptions.values()) unsubscribe();
        subscriptions.clear();
      },
    };
  }
}
