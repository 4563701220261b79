/**
 * The page of `mqtt-contracts ui`: connect to a broker over WebSocket, list its live services, and call them.
 * The broker URL comes from the server's config.json (never with credentials); a user name and password typed
 * here are kept in this page's memory only: not in the URL, not in storage.
 */
import { createConsoleLogger } from "../../logger.js";
import { parseCommunicatorOptions } from "../../communicator/parse-options.js";
import { mqttCommunicatorOptionsSchema, type MqttCommunicatorOptions } from "../../mqtt/mqtt-options.js";
import { Clients } from "./clients.js";
import { el, replace, short } from "./dom.js";
import { LiveServices } from "./live-services.js";
import { ServiceView } from "./service-view.js";

const logger = createConsoleLogger("mqtt-contracts-ui", "warn");

const urlInput = document.querySelector<HTMLInputElement>("#broker-url")!;
const userInput = document.querySelector<HTMLInputElement>("#username")!;
const passwordInput = document.querySelector<HTMLInputElement>("#password")!;
const connectForm = document.querySelector<HTMLFormElement>("#connect")!;
const status = document.querySelector<HTMLElement>("#status")!;
const serviceList = document.querySelector<HTMLElement>("#services")!;
const detail = document.querySelector<HTMLElement>("#detail")!;

let live: LiveServices | undefined;
let clients: Clients | undefined;
let selected: ServiceView | undefined;

function setStatus(text: string, kind: "ok" | "error" | "pending"): void {
  status.textContent = text;
  status.className = `status ${kind}`;
}

async function connect(): Promise<void> {
  await disconnect();
  const url = urlInput.value.trim();
  const connection: MqttCommunicatorOptions = { url, connectTimeoutMs: 10_000 };
  if (userInput.value !== "") connection.username = userInput.value;
  if (passwordInput.value !== "") connection.password = passwordInput.value;
  setStatus(`connecting to ${url}…`, "pending");
  try {
    const resolved = parseCommunicatorOptions("mqtt", "mqtt-contracts-ui", mqttCommunicatorOptionsSchema(), connection);
    clients = new Clients(connection, logger);
    live = new LiveServices(() => renderServices());
    await live.start(resolved, logger);
    setStatus(`connected to ${url}`, "ok");
    renderServices();
  } catch (error) {
    setStatus(`cannot connect to ${url}: ${short((error as Error).message, 500)}`, "error");
    await disconnect();
  }
}

async function disconnect(): Promise<void> {
  selected?.close();
  selected = undefined;
  replace(detail);
  const stopping = [live?.stop(), clients?.stopAll()];
  live = undefined;
  clients = undefined;
  replace(serviceList);
  await Promise.all(stopping.map((promise) => promise?.catch(() => undefined)));
}

function renderServices(): void {
  if (live === undefined) return;
  const services = live.services();
  replace(
    serviceList,
    ...services.map((service) =>
      el(
        "li",
        { class: `service-entry${selected?.prefix === service.prefix ? " selected" : ""}`, "data-prefix": short(service.prefix, 1_000) },
        el("button", { type: "button", class: "select-service", onclick: () => select(service.prefix) }, short(service.prefix, 200)),
        el("span", { class: "instance-count" }, ` ${service.instances.length} instance${service.instances.length === 1 ? "" : "s"}`),
        el("ul", { class: "agents" }, ...service.instances.map((record) => el("li", { class: "instance-entry", "data-instance": short(record.instance, 256) }, short(record.instance, 80)))),
      ),
    ),
  );
  if (services.length === 0) serviceList.append(el("li", { class: "none" }, "no live service yet"));
  if (live.ignored > 0) serviceList.append(el("li", { class: "note" }, `${live.ignored} records over the limit were ignored`));
  if (selected !== undefined) selected.setInstances(services.find((service) => service.prefix === selected!.prefix)?.instances ?? []);
}

function select(prefix: string): void {
  if (clients === undefined) return;
  selected?.close();
  selected = new ServiceView(prefix, clients);
  replace(detail, selected.element);
  renderServices();
}

connectForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void connect();
});

async function start(): Promise<void> {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    const config = (await response.json()) as { brokerUrl?: unknown };
    if (typeof config.brokerUrl === "string") {
      urlInput.value = config.brokerUrl;
      await connect();
      return;
    }
  } catch {
    // no config: the user types the URL
  }
  setStatus("enter the broker's WebSocket URL (ws:// or wss://) and connect", "pending");
}

void start();
