/** What every benchmarked system provides: an echo server and a client that calls it. */
import type { MqttClient } from "mqtt";

/** The broker a peer connects to, and the MQTT settings every system uses on it. */
export interface BrokerTarget {
  readonly broker: BrokerKind;
  /** `mqtt://127.0.0.1:<port>` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The protocol `protocolVersion: "auto"` lands on: 5 on Mosquitto, 4 (3.1.1) on aedes. */
  readonly protocolVersion: 4 | 5;
  /** QoS of every publish and subscription where the system lets us choose. */
  readonly qos: 0 | 1;
  /**
   * Turn Nagle's algorithm off on the MQTT sockets of systems that leave it on (Moleculer, NestJS).
   * mqtt-contracts does it by itself and the hand-written baseline always does; without it a reply
   * written a few ticks after the request's PUBACK waits ~40 ms for the broker's delayed ACK.
   */
  readonly tcpNoDelay: boolean;
  /** Where servers connect, when not to `url`: another node of a clustered broker (`nats-cross`). */
  readonly serverUrl?: string;
}

export type BrokerKind = "aedes" | "mosquitto" | "nats" | "nats-cross";

export interface EchoServer {
  close(): Promise<void>;
}

export interface EchoClient {
  /**
   * Call echo and resolve with the message that came back. Rejects on an error, or when no answer
   * came within `timeoutMs`, using the system's own timeout mechanism.
   */
  echo(message: string, timeoutMs: number): Promise<string>;
  close(): Promise<void>;
}

export interface PeerSystem {
  startServer(target: BrokerTarget): Promise<EchoServer>;
  /** Resolves once the client is connected (and, where the system has discovery, once it sees the server). */
  startClient(target: BrokerTarget): Promise<EchoClient>;
}

/** Set TCP_NODELAY on an mqtt.js client's socket (mqtt.js has no option for it). */
export function disableNagle(client: MqttClient | null | undefined): void {
  const stream = client?.stream as { setNoDelay?: (noDelay: boolean) => unknown } | undefined;
  stream?.setNoDelay?.(true);
}
