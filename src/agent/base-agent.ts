import type { Communicator } from "../communicator/types.js";
import { CommunicationError } from "../errors/errors.js";
import { createConsoleLogger, type Logger } from "../logger.js";
import { createCommunicator } from "../plugins/create-communicator.js";
import { parseAgentConfig, type AgentConfig, type AgentConfigInput } from "./agent-config.js";

export interface AgentDeps {
  /** Where the agent and its communicator log. Default: stderr at `MQTT_CONTRACTS_LOG_LEVEL`. */
  logger?: Logger;
  /**
   * Where an unregistered `communicatorType` is looked for among installed packages
   * (`discoverCommunicators`). Default: `process.cwd()`.
   */
  discoveryCwd?: string;
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
  private readonly discoveryCwd: string | undefined;
  private comm: Communicator | undefined;
  private state: AgentState = "idle";
  private stopping: Promise<void> | undefined;

  /** Validates `config`; a `ConfigurationError` names the bad field. */
  constructor(config: AgentConfigInput, deps: AgentDeps = {}) {
    this.config = parseAgentConfig(config);
    this.name = this.config.name;
    this.logger = deps.logger ?? createConsoleLogger(`mqtt-contracts:${this.config.name}`);
    this.discoveryCwd = deps.discoveryCwd;
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

  /**
   * setup() → communicator start → run(). If any step fails, what was done is undone (shutdown()
   * if setup() ran, then the communicator stops) and the error is rethrown.
   */
  async start(): Promise<void> {
    if (this.state !== "idle") throw new CommunicationError(`Agent ${this.name} cannot start: it is ${this.state}`);
    this.state = "starting";
    let setupRan = false;
    try {
      this.comm = await createCommunicator(
        this.config.communicatorType,
        { agentName: this.config.name, serviceUrls: this.config.serviceUrls, options: this.config.communicatorOptions, logger: this.logger },
        this.discoveryCwd === undefined ? {} : { cwd: this.discoveryCwd },
      );
      setupRan = true;
      await this.setup();
      await this.comm.start();
      this.state = "running";
      await this.run();
    } catch (error) {
      this.state = "stopping";
      this.stopping = this.undo(setupRan);
      await this.stopping;
      throw error;
    }
  }

  /** shutdown() → communicator stop. Idempotent; concurrent calls wait for the same stop. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.state === "idle" || this.state === "stopped") {
      this.state = "stopped";
      return Promise.resolve();
    }
    this.state = "stopping";
    this.stopping = this.undo(true);
    return this.stopping;
  }

  private async undo(shutdown: boolean): Promise<void> {
    try {
      if (shutdown) await this.shutdown().catch((error: unknown) => this.logger.error(`${this.name}: shutdown() failed: ${(error as Error).message}`));
    } finally {
      await this.comm?.stop().catch((error: unknown) => this.logger.error(`${this.name}: stopping the communicator failed: ${(error as Error).message}`));
      this.state = "stopped";
    }
  }
}
