import { z } from "zod";
import { defineService } from "mqtt-contracts";

/** The service of the OpenMAS MQTT example: status, echo, and a log notification. */
export const ExampleService = defineService({
  name: "example",
  description: "The OpenMAS MQTT example agent: reports its status, echoes messages and logs notifications.",
  version: "1.0.0",
  methods: {
    get_status: {
      description: "Report whether the agent is running.",
      params: z.object({}),
      result: z.object({
        status: z.string().describe("Always \"running\" while the agent serves"),
        agent_name: z.string().describe("The name of the agent that answered"),
      }),
    },
    echo: {
      description: "Send a message back unchanged.",
      params: z.object({ message: z.string().describe("Text to echo") }),
      result: z.object({
        original: z.string().describe("The message as received"),
        echo: z.string().describe("The message sent back"),
      }),
      timeoutMs: 5_000,
    },
  },
  notifications: {
    log: {
      description: "Log a message on the agent.",
      params: z.object({ message: z.string().describe("Text to log") }),
    },
  },
});
