/**
 * Whether the broker delivers `$share` subscriptions: asked once at `start()` by a member of a group
 * under `sharedRouting: "auto"`. aedes grants them and never delivers; Mosquitto, EMQX and HiveMQ deliver.
 */
import { randomHex } from "../platform/random.js";
import { utf8Decode } from "../platform/bytes.js";
import type { Logger } from "../logger.js";
import type { Routing } from "../communicator/membership.js";
import type { InboundMessage, Transport } from "../transport/transport.js";
import { instanceProbeTopic } from "./record.js";

export class ShareProbe {
  private probe: { topic: string; nonce: string; arrived: () => void } | undefined;

  constructor(
    private readonly agentName: string,
    private readonly logger: Logger,
  ) {}

  /** `shared` when a probe published to a `$share` subscription of our own comes back within `probeMs`, else `instances`. */
  async routing(transport: Transport, prefix: string, clientId: string, group: string, probeMs: number): Promise<Routing> {
    if (transport.sharedSubscriptionAvailable === false) {
      this.logger.info(`${this.agentName}: the broker says it has no shared subscriptions; group ${group} spreads requests over instance topics`);
      return "instances";
    }
    // A group of our own, so the probe comes back to us and to nobody else; it also fences the retained
    // records subscribed before, which a broker delivers before what is published after.
    const topic = instanceProbeTopic(prefix, clientId);
    const filter = `$share/${group}-probe-${randomHex(3)}/${topic}`;
    const nonce = randomHex(8);
    let timer: NodeJS.Timeout | undefined;
    const arrived = new Promise<boolean>((resolve) => {
      this.probe = { topic, nonce, arrived: () => resolve(true) };
      timer = setTimeout(() => resolve(false), probeMs);
    });
    try {
      await transport.subscribe([filter]);
      await transport.publish(topic, nonce);
      const delivered = await arrived;
      if (!delivered) this.logger.info(`${this.agentName}: the broker granted a $share subscription but delivered nothing within ${probeMs} ms; group ${group} spreads requests over instance topics`);
      return delivered ? "shared" : "instances";
    } catch (error) {
      this.logger.info(`${this.agentName}: the broker refused a $share subscription (${(error as Error).message}); group ${group} spreads requests over instance topics`);
      return "instances";
    } finally {
      clearTimeout(timer);
      this.probe = undefined;
      await transport.unsubscribe?.([filter]).catch(() => undefined);
    }
  }

  /** Take the probe's message; false when `message` is not it. */
  consume(message: InboundMessage): boolean {
    const probe = this.probe;
    if (probe === undefined || message.topic !== probe.topic) return false;
    if (utf8Decode(message.payload) === probe.nonce) probe.arrived();
    return true;
  }
}
