import type { Communicator } from "../communicator/types.js";
import { CommunicationError } from "../errors/errors.js";
import { createConsoleLogger, type Logger } from "../logger.js";
import { createCommunicator } from "../plugins/create-communicator.js";
import { parseAgentConfig, type AgentConfig, type AgentConfigInput } from "./agent-config.js";

export interface AgentDeps {
  /** Where the agent and its communicator log. Default: stderr at `MQTT_CONTRACTS_LOG_LEVEL`. */
  logger?: Logger;
}

type AgentState = "idle" | "starting" | "running" | "stopping" | "stopped";

/**
 * An agent: a named participant with one communicator. Subclasses override the lifecycle hooks:
 * `setup()` registers handlers, `run()` does the agent's work, `shutdown()` releases what setup
 * took. `start()` drives setup → communicator start → run; `stop()` drives shutdown → communicator
 * stop. Handlers keep serving after `run()` returns, until `stop()`.
 */
export class BaseAgent {
  readonly config: AgentConfig;
  readonly name: string;
  protected readonly logger: Logger;
  private comm: Communicator | undefined;
  private state: AgentState = "idle";

  /** Validates `config`; a `ConfigurationError` names the bad field. */
  constructor(config: AgentConfigInput, deps: AgentDeps = {}) {
    this.config = parseAgentConfig(config);
    this.name = this.config.name;
    this.logger = deps.logger ?? createConsoleLogger(`mqtt-contracts:${this.config.name}`);
  }

  /** The agent's communicator, available from `setup()` on. */
  get communicator(): Communicator {
    if (this.comm === undefined) throw new CommunicationError(`Agent ${this.name} has no communicator before start()`);
    return this.comm;
  }

  /** Register handlers here. Runs before the communicator connects, so no request is missed. */
  protected async setup(): Promise<void> {}

  /** The agent's own work. `start()` resolves when it returns. */
  protected async run(): Promise<void> {}

  /** Release what `setup()` or `run()` took. Runs before the communicator stops. */
  protected async shutdown(): Promise<void> {}

  /** setup() → communicator start → run(). If any step fails, what was started is stopped again. */
  async start(): Promise<void> {
    if (this.state !== "idle") throw new CommunicationError(`Agent ${this.name} cannot start: it is ${this.state}`);
    this.state = "starting";
    try {
      this.comm = await createCommunicator(this.config.communicatorType, {
        agentName: this.config.name,
        serviceUrls: this.config.serviceUrls,
        options: this.config.communicatorOptions,
        logger: this.logger,
      });
      await this.setup();
      await this.comm.start();
      this.state = "running";
    } catch (error) {
      this.state = "stopped";
      await this.comm?.stop().catch(() => undefined);
      throw error;
    }
    await this.run();
  }

  /** shutdown() → communicator stop. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === "stopping" || this.state === "stopped") return;
    if (this.state === "idle") {
      this.state = "stopped";
      return;
    }
    this.state = "stopping";
    try {
      await this.shutdown();
    } finally {
      await this.comm?.stop();
      this.state = "stopped";
    }
  }
}
