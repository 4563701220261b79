import type { IPublishPacket, MqttClient } from "mqtt";

export interface ReceivedMessage {
  topic: string;
  /** The payload decoded as UTF-8. */
  text: string;
  packet: IPublishPacket;
}

/** Everything a raw mqtt.js client receives, in order, with a bounded wait for one message. */
export interface Inbox {
  readonly messages: readonly ReceivedMessage[];
  /** The messages received on `topic` so far. */
  on(topic: string): ReceivedMessage[];
  /**
   * The first message (already received or still to come) that `match` accepts. Rejects after
   * `timeoutMs`, naming what did arrive, so a missing answer fails the test instead of hanging it.
   */
  waitFor(match: (message: ReceivedMessage) => boolean, timeoutMs?: number): Promise<ReceivedMessage>;
  /** `waitFor` a message on `topic`, parsed as JSON. */
  jsonOn(topic: string, timeoutMs?: number): Promise<unknown>;
  /** The first `count` messages on `topic`, once that many have arrived. */
  allOn(topic: string, count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  /** Stop listening and reject every open `waitFor`. */
  dispose(): void;
}

export function inbox(client: MqttClient): Inbox {
  const messages: ReceivedMessage[] = [];
  const waiters = new Set<{ match: (message: ReceivedMessage) => boolean; resolve(message: ReceivedMessage): void; reject(error: Error): void }>();
  const onMessage = (topic: string, payload: Buffer, packet: IPublishPacket) => {
    const message = { topic, text: payload.toString("utf8"), packet };
    messages.push(message);
    for (const waiter of [...waiters]) if (waiter.match(message)) waiter.resolve(message);
  };
  client.on("message", onMessage);

  const waitFor = (match: (message: ReceivedMessage) => boolean, timeoutMs = 5_000) => {
    const found = messages.find(match);
    if (found) return Promise.resolve(found);
    return new Promise<ReceivedMessage>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (message: ReceivedMessage) => {
          done();
          resolve(message);
        },
        reject: (error: Error) => {
          done();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const seen = messages.map((m) => `${m.topic}: ${m.text.slice(0, 80)}`).join("\n  ");
        waiter.reject(new Error(`no matching message within ${timeoutMs} ms; received:\n  ${seen || "(nothing)"}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(waiter);
      };
      waiters.add(waiter);
    });
  };

  return {
    messages,
    on: (topic) => messages.filter((m) => m.topic === topic),
    waitFor,
    jsonOn: async (topic, timeoutMs) => JSON.parse((await waitFor((m) => m.topic === topic, timeoutMs)).text),
    async allOn(topic, count, timeoutMs) {
      const on = () => messages.filter((m) => m.topic === topic);
      await waitFor((m) => m.topic === topic && on().length >= count, timeoutMs);
      return on().slice(0, count);
    },
    dispose() {
      client.off("message", onMessage);
      for (const waiter of [...waiters]) waiter.reject(new Error("inbox disposed"));
    },
  };
}

/** Discovery traffic (records at `<prefix>/instance/<id>`, queries at `<prefix>/discover`), which tests of other traffic leave out. */
export function isDiscoveryTopic(topic: string): boolean {
  return /\/instance\/[^/]+$/.test(topic) || topic.endsWith("/discover");
}
