// The guide's "Agents" snippets, compiled with the repository (tsc includes examples/).
import { BaseAgent, agentConfigFromEnv } from "mqtt-contracts";

declare function moveTo(x: number, options: { signal: AbortSignal }): Promise<void>;

// #region agent
class Arm extends BaseAgent {
  protected override async setup() {
    this.communicator.registerHandler<{ x: number }>("move", async ({ x }, context) => {
      await moveTo(x, { signal: context.signal }); // fires at the caller's deadline or on stop()
      return { at: x };
    });
  }
  protected override async run() {
    const plan = await this.communicator.sendRequest("planner", "next_move", { arm: this.name }, { timeoutMs: 5_000 });
    console.log(plan);
  }
}

const arm = new Arm({
  name: "arm1",
  communicatorType: "mqtt",
  communicatorOptions: { url: "mqtt://localhost:1883" },
  serviceUrls: { planner: "plant1/planner" },
});
await arm.start();
// … later
await arm.stop();
// #endregion agent

export function fromEnv(): Arm {
  // #region from-env
  const agent = new Arm(agentConfigFromEnv({ name: "arm1", serviceUrls: { planner: "planner" } }));
  // #endregion from-env
  return agent;
}
