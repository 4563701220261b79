/**
 * Sessions that survive, on a Mosquitto started here: a serving communicator keeps its MQTT session, so
 * requests queued at the broker while it restarts are delivered to it afterwards; callers and members of a
 * group keep clean sessions. The server runs in a process of its own and is killed with SIGKILL.
 */
import { once, type EventEmitter } from "node:events";
import mqtt, { type IConnackPacket } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MqttCommunicator } from "mqtt-contracts";
import { Children } from "./helpers/child-process.js";
import { RawCaller, settledSamples, startFloodServer } from "./helpers/flood.js";
import { startMosquitto, type Mosquitto } from "./helpers/mosquitto.js";
import { recordingLogger } from "./helpers/recording-logger.js";

const children = new Children();
let mosquitto: Mosquitto;

beforeAll(async () => {
  mosquitto = await startMosquitto({ config: ["max_queued_messages 0"] });
});
afterEach(() => children.killAll());
afterAll(() => mosquitto?.close());

/** Whether the broker still holds a session for `clientId`: connect with Clean Start false and read the CONNACK. */
async function sessionKept(clientId: string): Promise<boolean> {
  const probe = mqtt.connect(mosquitto.url, { protocolVersion: 5, clean: false, clientId, reconnectPeriod: 0, properties: { sessionExpiryInterval: 0 } });
  const [connack] = (await once(probe as unknown as EventEmitter, "connect")) as [IConnackPacket];
  await probe.endAsync();
  return connack.sessionPresent;
}

describe("sessions", () => {
  /**
   * At least once at the server, once at the caller: a request the first process had answered, but whose
   * acknowledgement had not left it when it was killed, runs again after the restart (the broker cannot tell),
   * and its answer comes a second time, byte for byte the same, which mqtt-contracts clients drop silently.
   * Only requests in flight at the kill can run twice: at most the 20 handlers.
   */
  it("kill -9 of a server with 1 000 requests queued, restarted with the same clientId: every request answered, none lost", { timeout: 120_000 }, async () => {
    const options = { agentName: "restarting", clientId: "restarting-1", maxConcurrentHandlers: 20, handlerMs: 50 };
    const first = await startFloodServer(children, mosquitto.url, options);
    const caller = await RawCaller.connect(mosquitto.url);
    try {
      await Promise.all(caller.send("restarting", "slow", 1_000));
      // Five more whose callers stop waiting in 1 s: by the time the restarted server reaches them, they are refused.
      await Promise.all(caller.send("restarting", "slow", 5, Date.now() + 1_000));
      await caller.answered(200, 60_000);
      first.process.kill("SIGKILL");
      await first.exited;
      const answeredBeforeKill = caller.answers.size;
      const second = await startFloodServer(children, mosquitto.url, options);
      await caller.answered(1_005, 90_000);
      const samples = await settledSamples(second);
      console.log(`restart: ${answeredBeforeKill} answered before the kill, ${caller.answers.size}/1005 answered in all (${caller.results} results), ${caller.duplicates} answered twice (${caller.differentDuplicates} of them differently); the restarted server ran ${samples.at(-1)!.started} handlers`);
      expect(caller.answers.size).toBe(1_005);
      expect(caller.results).toBe(1_000);
      expect(caller.differentDuplicates).toBe(0);
      expect(caller.duplicates).toBeLessThanOrEqual(20);
      // Past their deadline when the server got to them: refused (-32603, "the deadline ... passed"), not run.
      expect(caller.otherErrors).toEqual({ "-32603": 5 });
      // What the first process had taken but not answered ran again, and at most the handlers in flight at the kill twice.
      // (An answer of the first process still on its way when it exited is counted after: hence the 20 below.)
      expect(samples.at(-1)!.started).toBeGreaterThanOrEqual(1_000 - answeredBeforeKill - 20);
      expect(samples.at(-1)!.started).toBeLessThanOrEqual(1_000 - answeredBeforeKill + caller.duplicates);
    } finally {
      await caller.close();
    }
  });

  it("a server keeps its session under a clientId of its own; a made-up one is ended at stop; callers and group members keep none", { timeout: 60_000 }, async () => {
    const start = async (agentName: string, options: Record<string, unknown>, serve: boolean) => {
      const communicator = new MqttCommunicator({ agentName, options: { url: mosquitto.url, ...options }, logger: recordingLogger() });
      if (serve) communicator.registerHandler("ping", () => "pong");
      await communicator.start();
      return communicator;
    };
    const own = await start("kept", { clientId: "kept-1" }, true);
    const madeUp = await start("madeup", {}, true);
    const caller = await start("caller", { clientId: "caller-1" }, false);
    const member = await start("member", { clientId: "member-1", sharedGroup: "g" }, true);
    const off = await start("off", { clientId: "off-1", sessionExpirySeconds: 0 }, true);
    const ids = { own: own.clientId, madeUp: madeUp.clientId, caller: caller.clientId, member: member.clientId, off: off.clientId };
    for (const communicator of [own, madeUp, caller, member, off]) await communicator.stop();
    expect({
      own: await sessionKept(ids.own),
      madeUp: await sessionKept(ids.madeUp),
      caller: await sessionKept(ids.caller),
      member: await sessionKept(ids.member),
      off: await sessionKept(ids.off),
    }).toEqual({ own: true, madeUp: false, caller: false, member: false, off: false });
  });
});
