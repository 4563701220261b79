// Agents and their configuration
export { BaseAgent } from "./agent/base-agent.js";
export { agentConfigSchema, agentConfigFromEnv, parseAgentConfig } from "./agent/agent-config.js";

// Communicators
export { BaseCommunicator } from "./communicator/base-communicator.js";
export { commonOptionsShape, communicatorOptionsSchema } from "./communicator/options.js";
export { parseCommunicatorOptions } from "./communicator/parse-options.js";
export { instanceParts } from "./instances/parts.js";
export { CLOSE_TIMEOUT_MS, DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_STOP_GRACE_MS } from "./communicator/defaults.js";
export { MqttCommunicator } from "./mqtt/mqtt-communicator.js";
export { mqttCommunicatorOptionsSchema } from "./mqtt/mqtt-options.js";
export { MemoryCommunicator, memoryCommunicatorOptionsSchema } from "./memory/memory-communicator.js";
export { MemoryBus } from "./memory/memory-bus.js";

// Communicator plugins
export { registerCommunicator, getCommunicatorClass, communicatorTypes, hasCommunicator } from "./plugins/registry.js";
export { discoverCommunicators } from "./plugins/discovery.js";
export { createCommunicator } from "./plugins/create-communicator.js";

// Contracts: what generated code builds on
export { defineService, isServiceContract } from "./contract/define-service.js";
export { ServiceClient } from "./contract/service-client.js";
export { registerService } from "./contract/register-service.js";
export { ContractError } from "./contract/contract-error.js";

// The CLI's connection flags, for agents that take the same command line
export { connectionFlagOptions, connectionOptionsFromFlags } from "./cli/connection-flags.js";

// Discovery: the services and instances on a broker
export { discover } from "./mqtt/discover.js";

// Embedded broker
export { startBroker } from "./broker/embedded-broker.js";

// Errors
export { ErrorCode, errorCodeName } from "./errors/codes.js";
export {
  CommunicationError,
  ConfigurationError,
  MethodNotFoundError,
  OverloadedError,
  RequestAbortedError,
  RequestTimeoutError,
  RpcError,
  ServiceNotFoundError,
  ValidationError,
} from "./errors/errors.js";
export { errorFromWire, errorToWire } from "./errors/wire.js";

// Wire format
export { requestTopic, notificationTopic, responseTopic, requestFilter, notificationFilter } from "./wire/jsonrpc/topics.js";
export { createConsoleLogger } from "./logger.js";

export type { AnySchema, SchemaLike, ParamsLike, ErrorContract, MethodContract, NotificationContract, ServiceDefinition, ServiceContract } from "./contract/define-service.js";
export type { CallOptions, StreamCallOptions } from "./contract/service-client.js";
export type { RegisterServiceOptions } from "./contract/register-service.js";
export type { ContractErrorClass } from "./contract/contract-error.js";
export type { SchemaIssue } from "./contract/schema.js";
export type { AgentDeps } from "./agent/base-agent.js";
export type { AgentConfig, AgentConfigInput } from "./agent/agent-config.js";
export type { BaseCommunicatorSettings } from "./communicator/options.js";
export type { CommunicatorParts, CommunicatorPartsFactory, MembershipContext } from "./communicator/membership.js";
export type { BatchSettings } from "./communicator/request-batcher.js";
export type { Communicator, CommunicatorClass, CommunicatorInit, Handler, HandlerContext, HandlerOptions, JsonSchema, RequestOptions, StreamOptions } from "./communicator/types.js";
export type { CallStream } from "./communicator/call-stream.js";
export type { InboundMessage, MessageSink, PublishProperties, Transport } from "./transport/transport.js";
export type { MqttCommunicatorOptions } from "./mqtt/mqtt-options.js";
export type { MemoryCommunicatorOptions } from "./memory/memory-communicator.js";
export type { CommunicatorSource } from "./plugins/registry.js";
export type { CommunicatorManifest, DiscoveredCommunicator, DiscoverOptions } from "./plugins/discovery.js";
export type { EmbeddedBroker, StartBrokerOptions } from "./broker/embedded-broker.js";
export type { DiscoverOptions as DiscoverServicesOptions, DiscoveredService } from "./mqtt/discover.js";
export type { InstanceRecord, Routing } from "./instances/record.js";
export type { OpenRpcDocument, OpenRpcMethod, ContentDescriptor } from "./instances/openrpc.js";
export type { StatsSnapshot } from "./instances/stats.js";
export type { ConnectionFlags } from "./cli/connection-flags.js";
export type { CommunicationErrorOptions } from "./errors/errors.js";
export type { WireError } from "./errors/wire.js";
export type { ErrorCode as ErrorCodeValue } from "./errors/codes.js";
export type { Logger, LogLevel } from "./logger.js";
export type { Params, RequestId, RequestMessage, NotificationMessage, ResponseMessage } from "./wire/jsonrpc/codec.js";
