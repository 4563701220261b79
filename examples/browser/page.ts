/**
 * The page of the browser example: the generated client of the example service (generated/example.ts),
 * over mqtt.js in the browser, connected to the broker's WebSocket port. `npm run example:browser` bundles
 * it (esbuild, platform browser: `mqtt-contracts` resolves to its browser entry) and serves it.
 */
import { MqttCommunicator, RpcError } from "mqtt-contracts";
import { ExampleServiceClient } from "../../generated/example.js";

/** What the server tells the page: where the broker's WebSocket is, and the example service's topic prefix. */
interface PageConfig {
  wsUrl: string;
  service: string;
}

const status = document.querySelector<HTMLParagraphElement>("#status")!;
const form = document.querySelector<HTMLFormElement>("#echo")!;
const input = document.querySelector<HTMLInputElement>("#message")!;
const answer = document.querySelector<HTMLOutputElement>("#answer")!;

function show(element: HTMLElement, text: string, state: string): void {
  element.textContent = text;
  element.dataset.state = state;
}

async function main(): Promise<void> {
  const config = (await (await fetch("./config.json")).json()) as PageConfig;
  // No credentials here: the embedded broker takes none. With a broker that does, ask the user for the
  // password and pass it as the `password` option, kept in memory only, never in the URL or in storage.
  const communicator = new MqttCommunicator({ agentName: "browser_example", serviceUrls: { example: config.service }, options: { url: config.wsUrl } });
  await communicator.start();
  const example = new ExampleServiceClient(communicator, "example");
  show(status, `Connected to ${config.wsUrl}; calling the service at ${config.service}`, "connected");
  form.querySelector("button")!.disabled = false;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    show(answer, "…", "calling");
    example.echo({ message: input.value }).then(
      (result) => show(answer, `echo: ${result.echo}`, "answered"),
      (error: unknown) => show(answer, error instanceof RpcError ? `error ${error.code}: ${error.message}` : String(error), "error"),
    );
  });
  window.addEventListener("pagehide", () => void communicator.stop());
}

main().catch((error: unknown) => show(status, `Cannot connect: ${error instanceof Error ? error.message : String(error)}`, "error"));
