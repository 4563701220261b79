/**
 * `mqtt-contracts/contract`: what a contract module needs, and nothing else. Importing it loads no
 * MQTT client, broker or Node-only module, and its declarations bring no Node types, so a contract
 * that imports `defineService` from here loads and type-checks quickly. `mqtt-contracts` exports the
 * same things; codegen type-checks a contract that imports only these from there as if it imported
 * them from here.
 */
export { defineService, isServiceContract } from "./contract/define-service.js";
export type { AnySchema, ErrorContract, MethodContract, NotificationContract, ParamsLike, SchemaLike, ServiceContract, ServiceDefinition } from "./contract/define-service.js";
