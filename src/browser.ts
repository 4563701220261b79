// The browser entry: the client path of the runtime (communicators over mqtt.js and in memory, contracts,
// generated clients, discovery, errors, validation), with nothing that needs Node. Bundlers pick it for
// `import … from "mqtt-contracts"` under the `browser` export condition; it is also `mqtt-contracts/browser`.
// `src/index.ts` re-exports all of it and adds what only Node can run (the embedded broker, agents,
// communicator plugins found on disk, the CLI's flags). test/browser-bundle.test.ts bundles it for a browser.

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

// Contracts: what generated code builds on
export { defineService, isServiceContract } from "./contract/define-service.js";
export { ServiceClient } from "./contract/service-client.js";
export { registerService } from "./contract/register-service.js";
export { ContractError } from "./contract/contract-error.js";

// Discovery: the services and instances on a broker
export { discover } from "./mqtt/discover.js";

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
export type { BaseCommunicatorSettings } from "./communicator/options.js";
export type { CommunicatorParts, CommunicatorPartsFactory, MembershipContext } from "./communicator/membership.js";
export type { BatchSettings } from "./communicator/request-batcher.js";
export type { Communicator, CommunicatorClass, CommunicatorInit, Handler, HandlerContext, HandlerOptions, JsonSchema, RequestOptions, StreamOptions } from "./communicator/types.js";
export type { CallStream } from "./communicator/call-stream.js";
export type { InboundMessage, MessageSink, PublishProperties, Transport } from "./transport/transport.js";
export type { MqttCommunicatorOptions } from "./mqtt/mqtt-options.js";
export type { MemoryCommunicatorOptions } from "./memory/memory-communicator.js";
export type { DiscoverOptions as DiscoverServicesOptions, DiscoveredService } from "./mqtt/discover.js";
export type { InstanceRecord, Routing } from "./instances/record.js";
export type { OpenRpcDocument, OpenRpcMethod, ContentDescriptor } from "./instances/openrpc.js";
export type { StatsSnapshot } from "./instances/stats.js";
export type { CommunicationErrorOptions } from "./errors/errors.js";
export type { WireError } from "./errors/wire.js";
export type { ErrorCode as ErrorCodeValue } from "./errors/codes.js";
export type { Logger, LogLevel } from "./logger.js";
export type { Params, RequestId, RequestMessage, NotificationMessage, ResponseMessage } from "./wire/jsonrpc/codec.js";
