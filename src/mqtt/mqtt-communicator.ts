import { BaseCommunicator } from "../communicator/base-communicator.js";
import { instanceParts } from "../instances/parts.js";
import type { InboundControl, MessageSink, Transport } from "../transport/transport.js";
import type { CommunicatorInit } from "../communicator/types.js";
import { parseCommunicatorOptions } from "../communicator/parse-options.js";
import { protectSecret } from "../log/redact.js";
import { mqttCommunicatorOptionsSchema, type MqttCommunicatorOptions, type ResolvedMqttOptions } from "./mqtt-options.js";
import { connectMqttTransport } from "./mqtt-connect.js";
import { describeBroker, type MqttTransport } from "./mqtt-transport.js";

/**
 * The `mqtt` communicator: the RPC core over mqtt.js 5, speaking MQTT 5 when the broker does and
 * 3.1.1 otherwise. Reconnects and resubscribes by itself after a broker restart.
 */
export class MqttCommunicator extends BaseCommunicator {
  readonly mqttOptions: ResolvedMqttOptions;
  private mqtt: MqttTransport | undefined;

  constructor(init: CommunicatorInit<MqttCommunicatorOptions>) {
    const options = parseCommunicatorOptions("mqtt", init.agentName, mqttCommunicatorOptionsSchema(), init.options);
    super(init, options, instanceParts);
    this.mqttOptions = options;
    // With DEBUG=mqttjs*, mqtt.js prints whole CONNECT packets: keep the credentials out of that output.
    protectSecret(options.password);
    if (options.url) protectSecret(decodeURIComponent(new URL(options.url).password));
  }

  /** The broker, for messages: `mqtt://host:port` without credentials. */
  get broker(): string {
    return describeBroker(this.mqttOptions);
  }

  /** 5 or 4 once started. */
  get protocolVersion(): number | undefined {
    return this.mqtt?.protocolVersion;
  }

  protected override keepaliveSeconds(): number {
    return this.mqttOptions.keepalive;
  }

  protected override async openTransport(sink: MessageSink, inbound?: InboundControl): Promise<Transport> {
    const session = { expirySeconds: this.sessionExpiry(), clientIdGiven: this.clientIdGiven };
    this.mqtt = await connectMqttTransport(this.mqttOptions, this.clientId, sink, this.logger, this.lastWill(), session, inbound);
    return this.mqtt;
  }
}
