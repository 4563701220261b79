import { z } from "zod";
import { defineService } from "mqtt-contracts";

/** The echo service `npm run bench` measures: one small method, validated at both ends. */
export const BenchEchoService = defineService({
  name: "bench_echo",
  description: "Echo used by npm run bench.",
  methods: {
    echo: {
      params: z.object({ message: z.string() }),
      result: z.object({ message: z.string() }),
    },
  },
});
