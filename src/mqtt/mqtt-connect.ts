/**
 * Connecting mqtt.js: CONNECT with the session and flow control the core asks for, the MQTT 5 to 3.1.1
 * fallback, and errors that say what to change. What a connection then does is `MqttTransport`'s.
 */
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from "mqtt";
import { CommunicationError } from "../errors/errors.js";
import type { Logger } from "../logger.js";
import type { InboundControl, InboundMessage, LastWill, MessageSink } from "../transport/transport.js";
import type { ResolvedMqttOptions } from "./mqtt-options.js";
import { PacketStore } from "./packet-store.js";
import { InboundFlow, inboundWindow } from "./inbound-flow.js";
import { describeBroker, MqttTransport } from "./mqtt-transport.js";
import { CONNACK_HINTS, CONNACK_REASONS, PROTOCOL_REFUSED, TLS_FAILURES, TRANSIENT_CONNACK } from "./reason-codes.js";
import { utf8Encode } from "../platform/bytes.js";
import { envVar } from "../platform/runtime.js";

/**
 * A connection error that retrying cannot fix, said with what to change; undefined for one worth
 * retrying until the connect timeout. A refused TCP connection (no broker listening yet) is retried
 * only when `waitForBroker` is true, as agents started before their broker want.
 */
function fatalConnectError(error: Error & { code?: unknown }, waitForBroker: boolean): string | undefined {
  const code = typeof error.code === "string" ? error.code : undefined;
  if (code === undefined) return undefined;
  switch (TLS_FAILURES[code]) {
    case "untrusted":
      return `the broker's TLS certificate is not trusted (${code}): give the CA that signed it as the ca option (the CLI's --ca), or for a test broker only, rejectUnauthorized: false (--insecure)`;
    case "expired":
      return `the broker's TLS certificate is not valid now (${code})`;
    case "name":
      return `the broker's TLS certificate is not for this host name (${code}): ${error.message}`;
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `the host name does not resolve (${code})`;
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "EPROTO") return `TLS failed (${code}): is this a TLS port (mqtts://) of the broker? ${error.message}`;
  if (code === "ECONNREFUSED" && !waitForBroker) return "nothing accepts connections there (ECONNREFUSED)";
  return undefined;
}


function noLog(): void {}

/** Connect and return a transport; with `protocolVersion: "auto"`, fall back to 3.1.1 when MQTT 5 is refused. */
/** The MQTT session a connection asks for: see `sessionExpirySeconds`. */
export interface SessionRequest {
  /** 0: a clean session. */
  expirySeconds: number;
  /** Over MQTT 3.1.1 (no expiry) a session is kept only for a client id the user gave. */
  clientIdGiven: boolean;
}

const CLEAN_SESSION: SessionRequest = { expirySeconds: 0, clientIdGiven: false };

/**
 * MQTT 5: Clean Start false with an expiry. 3.1.1 has no expiry: a kept session under a made-up client id would
 * stay on the broker for ever after a crash, so only a client id of the user's own keeps one.
 */
function cleanSession(session: SessionRequest, protocolVersion: 4 | 5): boolean {
  return session.expirySeconds === 0 || (protocolVersion === 4 && !session.clientIdGiven);
}

/**
 * What reads a client's messages: the sink, behind `InboundFlow` when the core asked for flow control. Set
 * up on the client before it connects, so that what a kept session delivers right after the CONNACK is
 * neither missed (mqtt.js would acknowledge a message nobody listened to) nor read without limit.
 */
function attachInbound(client: MqttClient, options: ResolvedMqttOptions, sink: MessageSink, inbound: InboundControl | undefined): boolean {
  const flow = inbound === undefined ? undefined : new InboundFlow(client, sink, inboundWindow(options), inbound.gate, inbound.urgent);
  client.on("message", (topic, payload, packet) => {
    const properties = packet.properties;
    const message: InboundMessage = {
      topic,
      payload,
      responseTopic: properties?.responseTopic,
      correlationData: properties?.correlationData,
      messageExpiryInterval: properties?.messageExpiryInterval,
    };
    if (flow?.shouldPark(topic)) flow.park(message);
    else sink(message);
  });
  return flow !== undefined;
}

export async function connectMqttTransport(options: ResolvedMqttOptions, clientId: string, sink: MessageSink, logger: Logger, will?: LastWill, session: SessionRequest = CLEAN_SESSION, inbound?: InboundControl): Promise<MqttTransport> {
  const versions: (4 | 5)[] = options.protocolVersion === "auto" ? [5, 4] : [options.protocolVersion];
  const deadline = Date.now() + options.connectTimeoutMs;
  for (const version of versions) {
    const canFallBack = version === 5 && versions.length > 1;
    try {
      let gated = false;
      const { client, connack } = await connectOnce(options, clientId, version, deadline, canFallBack, will, session, (client) => (gated = attachInbound(client, options, sink, inbound)));
      if (connack.sessionPresent) logger.info(`${describeBroker(options)} kept the session of ${clientId}: requests queued for it while it was away come now`);
      const transport = new MqttTransport(client, options, logger, gated);
      transport.endSessionOnClose = version === 5 && session.expirySeconds > 0 && !session.clientIdGiven;
      transport.keepsSession = !cleanSession(session, version);
      transport.sharedSubscriptionAvailable = connack.properties?.sharedSubscriptionAvailable;
      return transport;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (canFallBack && typeof code === "number" && PROTOCOL_REFUSED.has(code)) {
        logger.debug(`${describeBroker(options)} refused MQTT 5 (code ${code}); falling back to MQTT 3.1.1`);
        continue;
      }
      if (canFallBack && error instanceof NoMqtt5Answer) {
        logger.info(`${describeBroker(options)} ${error.message}; falling back to MQTT 3.1.1`);
        continue;
      }
      throw error;
    }
  }
  throw new CommunicationError(`Could not connect to ${describeBroker(options)}`);
}

/**
 * How long an MQTT 5 CONNECT may go unanswered, under `protocolVersion: "auto"`, before 3.1.1 is tried.
 * A broker that speaks MQTT 5 answers within milliseconds; one that does not (RabbitMQ 3.x) may just
 * close the socket, or say nothing.
 */
const MQTT5_ANSWER_MS = 3_000;

/** The broker took the MQTT 5 CONNECT and closed the socket or stayed silent: worth a 3.1.1 attempt. */
class NoMqtt5Answer extends Error {}

function connectOnce(options: ResolvedMqttOptions, clientId: string, protocolVersion: 4 | 5, deadline: number, canFallBack: boolean, will: LastWill | undefined, session: SessionRequest, attach: (client: MqttClient) => void): Promise<{ client: MqttClient; connack: IConnackPacket }> {
  const where = describeBroker(options);
  const timeoutMs = Math.max(1, deadline - Date.now());
  const clientOptions: IClientOptions = {
    clientId,
    protocolVersion,
    clean: cleanSession(session, protocolVersion),
    keepalive: options.keepalive,
    reconnectPeriod: options.reconnectPeriodMs,
    connectTimeout: timeoutMs,
    resubscribe: true,
    outgoingStore: new PacketStore(),
    // Ping on a fixed beat (every keepalive) instead of re-arming mqtt.js's ping timer on every
    // acknowledgement received, a clearInterval and a setInterval per QoS 1 message.
    reschedulePings: false,
  };
  if (will !== undefined) clientOptions.will = { topic: will.topic, payload: utf8Encode(will.payload) as Buffer, retain: will.retain, qos: options.qos };
  if (protocolVersion === 5) {
    // The broker never sends a packet larger than this: payloads over maxPayloadBytes are dropped there,
    // never read into memory here. The allowance covers the largest topic and the properties.
    clientOptions.properties = { maximumPacketSize: Math.min(options.maxPayloadBytes + 65_536 + 1_024, 268_435_455) };
    if (session.expirySeconds > 0) clientOptions.properties.sessionExpiryInterval = session.expirySeconds;
    // The broker's window of unacknowledged messages to us: a request is acknowledged once it is answered,
    // so under "queue" the window is the running handlers and the wait queue, and the broker keeps the
    // rest. Under "reject" the broker must keep sending, so that those beyond are turned away at once.
    if (options.overload !== "reject") clientOptions.properties.receiveMaximum = Math.min(65_535, inboundWindow(options));
  }
  // mqtt.js calls its `debug` logger several times per packet even when it is off (an arguments
  // array each time); skip it unless DEBUG is set, so `DEBUG=mqttjs*` still shows mqtt.js's own log.
  if (!envVar("DEBUG")) clientOptions.log = noLog;
  if (options.username !== undefined) clientOptions.username = options.username;
  if (options.password !== undefined) clientOptions.password = options.password;
  if (options.ca !== undefined) clientOptions.ca = options.ca;
  if (options.cert !== undefined) clientOptions.cert = options.cert;
  if (options.key !== undefined) clientOptions.key = options.key;
  if (options.rejectUnauthorized !== undefined) clientOptions.rejectUnauthorized = options.rejectUnauthorized;

  return new Promise((resolve, reject) => {
    let client: MqttClient;
    try {
      if (options.streamBuilder) {
        client = new mqtt.MqttClient(options.streamBuilder as () => any, clientOptions);
      } else if (options.url) {
        client = mqtt.connect(options.url, clientOptions);
      } else {
        client = mqtt.connect({ ...clientOptions, host: options.brokerHost, port: options.brokerPort, protocol: "mqtt" });
      }
    } catch (error) {
      reject(new CommunicationError(`Could not connect to ${where}: ${(error as Error).message}`, { target: where, cause: error }));
      return;
    }
    attach(client);
    let lastError: Error | undefined;
    // Under "auto", an MQTT 5 CONNECT that the broker answers by closing the socket, or not at all, falls back.
    let connectSent = false;
    const onPacketSend = (packet: { cmd: string }) => {
      if (packet.cmd === "connect") connectSent = true;
    };
    const onClose = () => {
      if (connectSent) fail(new NoMqtt5Answer("closed the connection after an MQTT 5 CONNECT"));
    };
    const silence = canFallBack
      ? setTimeout(() => connectSent && fail(new NoMqtt5Answer(`did not answer an MQTT 5 CONNECT within ${MQTT5_ANSWER_MS} ms`)), Math.min(MQTT5_ANSWER_MS, timeoutMs))
      : undefined;
    if (canFallBack) {
      client.on("packetsend", onPacketSend);
      client.on("close", onClose);
    }
    const cleanup = () => {
      clearTimeout(timer);
      clearTimeout(silence);
      client.off("packetsend", onPacketSend);
      client.off("close", onClose);
      client.off("connect", onConnect);
      client.off("error", onError);
    };
    const fail = (error: Error) => {
      cleanup();
      client.end(true);
      reject(error);
    };
    const onConnect = (connack: IConnackPacket) => {
      cleanup();
      resolve({ client, connack });
    };
    const onError = (error: Error & { code?: unknown }) => {
      lastError = error;
      // "Server unavailable" or "busy" may pass (NATS says so while its JetStream is busy): mqtt.js tries
      // again after reconnectPeriodMs, until the connect timeout.
      if (typeof error.code === "number" && TRANSIENT_CONNACK.has(error.code)) return;
      if (typeof error.code === "number") {
        // A CONNACK refusal: retrying will not help.
        const reason = CONNACK_REASONS[error.code] ?? error.message;
        const refused = new CommunicationError(`${where} refused the connection: ${reason} (code ${error.code})${CONNACK_HINTS[error.code] ?? ""}`, { target: where, cause: error });
        Object.assign(refused, { code: error.code });
        fail(refused);
        return;
      }
      const fatal = fatalConnectError(error, options.waitForBroker);
      if (fatal !== undefined) fail(new CommunicationError(`Could not connect to ${where}: ${fatal}`, { target: where, cause: error }));
    };
    const timer = setTimeout(() => {
      const why = lastError ? `: ${lastError.message}` : "";
      fail(new CommunicationError(`Could not connect to ${where} within ${options.connectTimeoutMs} ms${why}`, { target: where, cause: lastError }));
    }, timeoutMs);
    client.on("connect", onConnect);
    client.on("error", onError);
  });
}
