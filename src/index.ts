// The public entry in Node: everything of the browser entry (the client path; see src/browser.ts), and what
// only Node runs: agents and their configuration, communicator plugins found on disk, the CLI's connection
// flags and the embedded broker.
export * from "./browser.js";

// Agents and their configuration
export { BaseAgent } from "./agent/base-agent.js";
export { agentConfigSchema, agentConfigFromEnv, parseAgentConfig } from "./agent/agent-config.js";

// Communicator plugins
export { registerCommunicator, getCommunicatorClass, communicatorTypes, hasCommunicator } from "./plugins/registry.js";
export { discoverCommunicators } from "./plugins/discovery.js";
export { createCommunicator } from "./plugins/create-communicator.js";

// The CLI's connection flags, for agents that take the same command line
export { connectionFlagOptions, connectionOptionsFromFlags } from "./cli/connection-flags.js";

// Embedded broker
export { startBroker } from "./broker/embedded-broker.js";

export type { AgentDeps } from "./agent/base-agent.js";
export type { AgentConfig, AgentConfigInput } from "./agent/agent-config.js";
export type { CommunicatorSource } from "./plugins/registry.js";
export type { CommunicatorManifest, DiscoveredCommunicator, DiscoverOptions } from "./plugins/discovery.js";
export type { EmbeddedBroker, StartBrokerOptions } from "./broker/embedded-broker.js";
export type { ConnectionFlags } from "./cli/connection-flags.js";
