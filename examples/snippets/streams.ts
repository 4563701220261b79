// The README's and guide's "Streams and cancellation" snippets; test/docs.test.ts runs this file.
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { defineService, MqttCommunicator, registerService, ServiceClient, startBroker, type HandlerContext } from "mqtt-contracts";

const broker = await startBroker();
const url = broker.url;

// #region contract
const Llm = defineService({
  name: "llm",
  methods: {
    complete: {
      description: "Write an answer to a prompt, a token at a time.",
      params: z.object({ prompt: z.string(), maxTokens: z.number().int().min(1).default(64) }),
      yields: z.object({ token: z.string() }), // each item
      result: z.object({ tokens: z.number().int(), stopped: z.enum(["end", "length", "cancelled"]) }),
      idleTimeoutMs: 5_000, // no token for 5 s: the caller gives up, and the server hears it
    },
  },
});
// #endregion contract

const server = new MqttCommunicator({ agentName: "llm", options: { url } });
// #region handler
registerService(server, Llm, {
  // A generated registerLlmService types these from the contract.
  async *complete({ prompt, maxTokens }: { prompt: string; maxTokens: number }, context: HandlerContext) {
    const words = `You asked ${JSON.stringify(prompt)}. The sky is blue because air scatters blue light more than red.`.split(" ");
    let tokens = 0;
    for (const word of words.slice(0, maxTokens)) {
      await sleep(5, undefined, { signal: context.signal }).catch(() => undefined); // thinking
      if (context.signal.aborted) {
        console.log("llm: the caller went away; stopping");
        return { tokens, stopped: "cancelled" as const };
      }
      tokens++;
      yield { token: word }; // waits here while the caller has no credit left
    }
    return { tokens, stopped: tokens === words.length ? ("end" as const) : ("length" as const) };
  },
});
// #endregion handler
await server.start();

const caller = new MqttCommunicator({ agentName: "chat", serviceUrls: { llm: "llm" }, options: { url } });
await caller.start();
// #region caller
const llm = new ServiceClient(caller, Llm, "llm"); // a generated LlmServiceClient does the same, typed
const answer = llm.stream("complete", { prompt: "Why is the sky blue?" });
let text = "";
for await (const { token } of answer as AsyncIterable<{ token: string }>) text += `${token} `;
console.log(text.trim());
console.log(await answer.result); // { tokens: 19, stopped: 'end' }

// Enough after four tokens: breaking out cancels the call, and the handler's context.signal aborts.
const short = llm.stream("complete", { prompt: "Tell me everything." });
const first: string[] = [];
for await (const { token } of short as AsyncIterable<{ token: string }>) {
  first.push(token);
  if (first.length === 4) break;
}
console.log(first.join(" "));
// #endregion caller

await caller.stop();
await server.stop();
await broker.close();
