// The guide's "Scaling out" snippets; test/docs.test.ts runs this file.
import { z } from "zod";
import { defineService, MqttCommunicator, registerService, startBroker } from "mqtt-contracts";

const broker = await startBroker();
const url = broker.url;

// #region delivery
const Jobs = defineService({
  name: "Jobs",
  methods: {
    run: { params: z.object({ job: z.string() }), result: z.object({ by: z.string() }) },
  },
  notifications: {
    configChanged: { params: z.object({ key: z.string() }) }, // every instance
    cleanUp: { params: z.object({ before: z.string() }), delivery: "one" }, // one instance of the group
  },
});
// #endregion delivery

const instances: MqttCommunicator[] = [];
// #region group
// Two instances of the "jobs" service: each request runs on one of them.
for (const clientId of ["jobs-1", "jobs-2"]) {
  const instance = new MqttCommunicator({ agentName: "jobs", options: { url, clientId, sharedGroup: "workers" } });
  registerService(instance, Jobs, {
    run: () => ({ by: clientId }),
    configChanged: () => undefined,
    cleanUp: () => undefined,
  });
  await instance.start();
  instances.push(instance);
  console.log(`${clientId} routes requests as ${instance.routing}`); // "shared" on Mosquitto, "instances" on aedes
}
// #endregion group

const caller = new MqttCommunicator({ agentName: "caller", serviceUrls: { jobs: "jobs" }, options: { url } });
await caller.start();
while (caller.liveInstances("jobs").length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
const answers = await Promise.all([1, 2, 3, 4].map((n) => caller.sendRequest<{ by: string }>("jobs", "run", { job: `job-${n}` })));
console.log(answers.map((answer) => answer.by).sort().join(" "));
await caller.stop();
for (const instance of instances) await instance.stop();
await broker.close();
