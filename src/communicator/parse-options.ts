import type { z } from "zod";
import { ConfigurationError } from "../errors/errors.js";

/** Parse a communicator's options with its schema; a failure names each bad field and the agent. */
export function parseCommunicatorOptions<S extends z.ZodType>(type: string, agentName: string, schema: S, options: unknown): z.output<S> {
  const parsed = schema.safeParse(options ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.length ? `communicatorOptions.${issue.path.join(".")}` : "communicatorOptions";
    return `${path}: ${issue.message}`;
  });
  throw new ConfigurationError(`Invalid ${type} communicator options for ${agentName}: ${problems.join("; ")}`, { details: parsed.error.issues });
}
