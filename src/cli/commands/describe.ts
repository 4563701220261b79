import type { OpenRpcDocument, OpenRpcMethod } from "../../instances/openrpc.js";
import type { CliIo } from "../cli-io.js";
import { ExitCode } from "../exit-codes.js";
import { schemaText } from "../format.js";
import { callCommandFor, type ServiceArgs } from "./service-call.js";

/** `mqtt-contracts describe <prefix> [method]`: what a service offers, from its `rpc.discover`. */
export async function describeCommand(args: ServiceArgs & { method?: string | undefined }, io: CliIo): Promise<ExitCode> {
  const answer = await callCommandFor<OpenRpcDocument>(args, io, "rpc.discover");
  if (typeof answer === "number") return answer;
  const methods = args.method === undefined ? answer.methods : answer.methods.filter((method) => method.name === args.method);
  if (args.method !== undefined && methods.length === 0) {
    io.err(`mqtt-contracts: ${args.prefix} has no method or notification ${JSON.stringify(args.method)}; it has: ${answer.methods.map((method) => method.name).join(", ") || "none"}`);
    return ExitCode.RemoteError;
  }
  if (args.json) {
    io.out(JSON.stringify(args.method === undefined ? answer : methods[0], null, 2));
    return ExitCode.Ok;
  }
  io.out(`${answer.info.title} on ${args.prefix} (version ${answer.info.version}, ${answer.info["x-library"]})`);
  for (const method of methods) io.out(`\n${describeMethod(method)}`);
  return ExitCode.Ok;
}

function describeMethod(method: OpenRpcMethod): string {
  const params = method.params.map((param) => `${param.name}${param.required ? "" : "?"}: ${schemaText(param.schema)}`).join("; ");
  const kind = method["x-notification"] ? "notification" : method["x-stream"] ? "method (streams)" : "method";
  const lines = [`${kind} ${method.name}${method["x-service"] ? ` (${method["x-service"]})` : ""}`];
  if (method.description) lines.push(`  ${method.description}`);
  if (method["x-unchecked"]) lines.push("  registered without a contract: params and result are not checked");
  else lines.push(`  params: { ${params} }`.replace("{  }", "{}"));
  if (method["x-items"] !== undefined) lines.push(`  yields: ${schemaText(method["x-items"].schema)}`);
  if (method.result !== undefined && !method["x-unchecked"]) lines.push(`  result: ${schemaText(method.result.schema)}`);
  for (const error of method.errors ?? []) lines.push(`  error ${error.code}: ${error.message}`);
  return lines.join("\n");
}
