import { z } from "zod";
import { ConfigurationError } from "../errors/errors.js";
import { prefixProblem } from "../wire/names.js";

const topicPrefix = (what: string) =>
  z.string().superRefine((value, ctx) => {
    const problem = prefixProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: `${what} ${JSON.stringify(value)} ${problem}` });
  });

/**
 * The schema of an agent's configuration, as in OpenMAS: a name, a communicator type and its options,
 * and where services live. Built anew on each call, like `mqttCommunicatorOptionsSchema`.
 */
export const agentConfigSchema = () =>
  z
    .object({
      /** The agent's name: its default topic prefix and client id stem. */
      name: topicPrefix("agent name"),
      /** A registered communicator type. Default `mqtt`. */
      communicatorType: z.string().min(1).default("mqtt"),
      /** Options for the communicator type; `mqtt` documents its own. Default `{}`. */
      communicatorOptions: z.record(z.string(), z.unknown()).default({}),
      /** Service name → MQTT topic prefix of that service. Default `{}`. */
      serviceUrls: z.record(z.string(), topicPrefix("topic prefix")).default({}),
    })
    .strict();

export type AgentConfig = z.output<ReturnType<typeof agentConfigSchema>>;
export type AgentConfigInput = z.input<ReturnType<typeof agentConfigSchema>>;

/** Validate a config; the error names every bad field, e.g. `serviceUrls.arm`. */
export function parseAgentConfig(config: unknown): AgentConfig {
  const parsed = agentConfigSchema().safeParse(config);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.length ? issue.path.join(".") : "config"}: ${issue.message}`);
  throw new ConfigurationError(`Invalid agent config: ${problems.join("; ")}`, { details: parsed.error.issues });
}

/**
 * Read an agent config from environment variables, over `defaults`:
 * `AGENT_NAME`, `COMMUNICATOR_TYPE`, `SERVICE_URLS` (JSON object), `COMMUNICATOR_OPTIONS` (JSON
 * object, merged over the defaults' options) and `MQTT_URL` (sets `communicatorOptions.url`).
 * The result is validated like any config.
 */
export function agentConfigFromEnv(defaults: Partial<AgentConfigInput> = {}, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const config: Record<string, unknown> = { ...defaults };
  if (env.AGENT_NAME) config.name = env.AGENT_NAME;
  if (env.COMMUNICATOR_TYPE) config.communicatorType = env.COMMUNICATOR_TYPE;
  if (env.SERVICE_URLS) config.serviceUrls = { ...defaults.serviceUrls, ...jsonObject("SERVICE_URLS", env.SERVICE_URLS) };
  const options: Record<string, unknown> = { ...defaults.communicatorOptions };
  if (env.COMMUNICATOR_OPTIONS) Object.assign(options, jsonObject("COMMUNICATOR_OPTIONS", env.COMMUNICATOR_OPTIONS));
  if (env.MQTT_URL) options.url = env.MQTT_URL;
  config.communicatorOptions = options;
  return parseAgentConfig(config);
}

function jsonObject(variable: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(`${variable} is not valid JSON: ${(error as Error).message}`, { details: { [variable]: text } });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigurationError(`${variable} must be a JSON object, got ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`, { details: { [variable]: text } });
  }
  return value as Record<string, unknown>;
}
