/**
 * NestJS microservices over MQTT: a `Transport.MQTT` microservice with one `@MessagePattern`, and
 * `ClientMqtt` as the client, with the protocol version of mqtt-contracts on each broker. QoS 1
 * where Nest lets us choose it: requests are sent as an `MqttRecord` with QoS 1, and the server
 * subscribes with `subscribeOptions: { qos: 1 }`. Replies travel at QoS 0 whatever we do: the
 * server publishes them with options taken from `response.data` when that is an `MqttRecord`, but
 * a handler's return value lands in `response.response`, so the options are always `{}`.
 *
 * Two clients:
 * - `shipped`: `ClientMqtt` as it comes. It counts the calls in flight per reply topic, subscribes
 *   `<pattern>/reply` (mqtt.js's default QoS 0; there is no option) when the count goes from 0 to 1,
 *   publishes only after the SUBACK, and unsubscribes when the count drops back to 0. A sequential
 *   caller pays a SUBSCRIBE/SUBACK round trip and an UNSUBSCRIBE per call.
 * - `pinned`: a `ClientMqtt` subclass that subscribes the reply topic once after connecting and
 *   holds one count on it, so the count never drops to 0: Nest never subscribes or unsubscribes
 *   again. The request path and everything else are Nest's own.
 *
 * Neither Nest nor mqtt.js turns Nagle's algorithm off; with `target.tcpNoDelay` the bench does it
 * on both sockets from outside (through `unwrap()`), as mqtt-contracts does on its own.
 *
 * The decorators are applied as plain function calls: this repository compiles with TC39
 * decorators, and Nest's are legacy `experimentalDecorators` ones. Nothing here needs
 * `emitDecoratorMetadata` (no constructor injection, no pipes).
 */
import "reflect-metadata";
import { Controller, Logger, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { ClientMqtt, MessagePattern, MqttRecordBuilder, Transport, type MicroserviceOptions } from "@nestjs/microservices";
import type { MqttClient } from "mqtt";
import { lastValueFrom, timeout } from "rxjs";
import { disableNagle, type BrokerTarget, type EchoClient, type EchoServer, type PeerSystem } from "./peer.js";

const PATTERN = "bench_echo";

class EchoController {
  echo(data: { message: string }): { message: string } {
    return { message: data.message };
  }
}
MessagePattern(PATTERN)(EchoController.prototype, "echo", Object.getOwnPropertyDescriptor(EchoController.prototype, "echo")!);
Controller()(EchoController);

class EchoModule {}
Module({ controllers: [EchoController] })(EchoModule);

/** `ClientMqtt` that keeps one subscription to the reply topic of `pattern` for its whole life. */
class PinnedClientMqtt extends ClientMqtt {
  async pinReplyTopic(pattern: string, qos: 0 | 1): Promise<void> {
    await this.connect();
    const channel = this.getResponsePattern(pattern);
    await this.unwrap<MqttClient>().subscribeAsync(channel, { qos });
    // One count held by us: ClientMqtt then never subscribes again, and never drops to 0 to unsubscribe.
    this.subscriptionsCount.set(channel, (this.subscriptionsCount.get(channel) ?? 0) + 1);
  }
}

function mqttOptions(target: BrokerTarget) {
  return { url: target.url, protocolVersion: target.protocolVersion };
}

export function nestjsPeer(variant: "shipped" | "pinned"): PeerSystem {
  Logger.overrideLogger(false);
  return {
    async startServer(target) {
      const app = await NestFactory.createMicroservice<MicroserviceOptions>(EchoModule, {
        transport: Transport.MQTT,
        options: { ...mqttOptions(target), subscribeOptions: { qos: target.qos } },
        logger: false,
      });
      await app.listen();
      if (target.tcpNoDelay) disableNagle(app.unwrap<MqttClient>());
      return { close: () => app.close() } satisfies EchoServer;
    },

    async startClient(target) {
      const client = variant === "pinned" ? new PinnedClientMqtt(mqttOptions(target)) : new ClientMqtt(mqttOptions(target));
      await client.connect();
      if (client instanceof PinnedClientMqtt) await client.pinReplyTopic(PATTERN, target.qos);
      if (target.tcpNoDelay) disableNagle(client.unwrap<MqttClient>());
      return {
        async echo(message, timeoutMs) {
          const record = new MqttRecordBuilder({ message }).setQoS(target.qos).build();
          const result = await lastValueFrom(client.send<{ message: string }>(PATTERN, record).pipe(timeout(timeoutMs)));
          return result.message;
        },
        close: () => client.close(),
      } satisfies EchoClient;
    },
  };
}
