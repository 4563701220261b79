import { z } from "zod";
import { defineService } from "mqtt-contracts/contract";

/** A small service: a method, a method that streams, and a notification, as Zod schemas. */
export const GreeterService = defineService({
  name: "greeter",
  description: "Greets people by name and counts the greetings.",
  methods: {
    greet: {
      description: "Say hello to someone.",
      params: z.object({ name: z.string().min(1).describe("Who to greet") }),
      result: z.object({
        greeting: z.string().describe("The greeting, ready to print"),
        count: z.number().int().describe("How many greetings this server has given"),
      }),
      timeoutMs: 5_000,
    },
    countdown: {
      description: "Count down to zero, one item per number, then say so. Break out of the loop to cancel.",
      params: z.object({ from: z.number().int().min(1).max(100).describe("Where to start") }),
      yields: z.object({ n: z.number().int().describe("The number counted") }),
      result: z.object({ done: z.literal(true) }),
      idleTimeoutMs: 5_000,
    },
  },
  notifications: {
    wave: {
      description: "Wave at the greeter; nothing comes back.",
      params: z.object({ from: z.string() }),
    },
  },
});
