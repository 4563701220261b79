/**
 * `mqtt-contracts/codegen`: contracts → typed clients, handler interfaces, JSON Schema and AsyncAPI,
 * from code. The `mqtt-contracts codegen` command is a thin shell over `runCodegen`.
 */
export { runCodegen } from "./run.js";
export { loadContracts, ContractsError } from "./load-contracts.js";
export { generate, headerText } from "./generate.js";
export { staleFiles, writeStale } from "./output.js";
export { ContractProblem } from "./validate-contracts.js";

export type { CodegenOptions, CodegenResult } from "./run.js";
export type { LoadOptions } from "./load-contracts.js";
export type { GenerateOptions } from "./generate.js";
export type { Staleness } from "./output.js";
export type { ContractModel, ServiceModel, MethodModel, NotificationModel, ErrorModel, SchemaModel, GeneratedFile, JsonSchema } from "./model.js";
