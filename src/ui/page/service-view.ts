/**
 * The selected service: its live instances (from their records) with each one's stats charts, refreshed
 * every few seconds from `rpc.stats` on the instance's own topic, and its methods and notifications from
 * its `rpc.discover`.
 */
import type { OpenRpcDocument } from "../../instances/openrpc.js";
import type { InstanceRecord } from "../../instances/record.js";
import { instanceTopic } from "../../instances/record.js";
import type { StatsSnapshot } from "../../instances/stats.js";
import { TARGET, type Clients } from "./clients.js";
import { el, replace, short } from "./dom.js";
import { MethodView } from "./method-view.js";
import { InstanceStats } from "./stats-view.js";

const STATS_EVERY_MS = 2_000;
const DISCOVER_TIMEOUT_MS = 10_000;
const MAX_METHODS = 500;

export class ServiceView {
  readonly element: HTMLElement;
  private readonly instanceList = el("ul", { class: "instances" });
  private readonly statsHolder = el("div", { class: "stats" });
  private readonly methodsHolder = el("div", { class: "methods" }, el("p", { class: "pending" }, "asking rpc.discover…"));
  private readonly stats = new Map<string, InstanceStats>();
  private methodViews: MethodView[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(
    readonly prefix: string,
    private readonly clients: Clients,
  ) {
    this.element = el(
      "section",
      { class: "service", "data-prefix": short(prefix, 1_000) },
      el("h2", {}, short(prefix, 1_000)),
      el("h3", {}, "Instances"),
      this.instanceList,
      this.statsHolder,
      el("h3", {}, "Methods and notifications"),
      this.methodsHolder,
    );
    void this.describe();
    this.timer = setInterval(() => void this.refreshStats(), STATS_EVERY_MS);
  }

  /** The service's live instances changed. */
  setInstances(instances: readonly InstanceRecord[]): void {
    replace(
      this.instanceList,
      ...instances.map((record) =>
        el(
          "li",
          { class: "instance", "data-instance": short(record.instance, 256) },
          el("code", {}, short(record.instance, 256)),
          ` ${short(record.agent, 256)}`,
          record.group === null ? "" : ` group ${short(record.group, 256)}`,
          ` · ${record.routing} · since ${new Date(record.startedAt).toLocaleTimeString()}`,
        ),
      ),
    );
    if (instances.length === 0) this.instanceList.append(el("li", { class: "none" }, "no live instance"));
    const live = new Set(instances.map((record) => record.instance));
    for (const [instance, view] of this.stats) {
      if (live.has(instance)) continue;
      view.destroy();
      this.stats.delete(instance);
      void this.clients.drop(instanceTopic(this.prefix, instance));
    }
    for (const instance of live) {
      if (this.stats.has(instance)) continue;
      const view = new InstanceStats(instance);
      this.stats.set(instance, view);
      this.statsHolder.append(view.element);
    }
    void this.refreshStats();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const view of this.methodViews) view.destroy();
    for (const [instance, view] of this.stats) {
      view.destroy();
      void this.clients.drop(instanceTopic(this.prefix, instance));
    }
    this.stats.clear();
    this.element.remove();
  }

  private async describe(): Promise<void> {
    let document: OpenRpcDocument;
    try {
      const client = await this.clients.for(this.prefix);
      document = await client.sendRequest<OpenRpcDocument>(TARGET, "rpc.discover", {}, { timeoutMs: DISCOVER_TIMEOUT_MS });
    } catch (error) {
      if (!this.closed) replace(this.methodsHolder, el("p", { class: "error" }, `rpc.discover failed: ${short((error as Error).message, 500)}`));
      return;
    }
    if (this.closed) return;
    const methods = Array.isArray(document?.methods) ? document.methods.filter((method) => typeof method?.name === "string" && Array.isArray(method.params)).slice(0, MAX_METHODS) : [];
    const info = document?.info;
    this.methodViews = methods.map((method) => new MethodView(method, () => this.clients.for(this.prefix)));
    replace(
      this.methodsHolder,
      info && typeof info.title === "string" ? el("p", { class: "service-info" }, `${short(info.title, 200)} ${short(String(info.version), 50)} · ${short(String(info["x-library"]), 100)}`) : null,
      ...this.methodViews.map((view) => view.element),
    );
  }

  private refreshing = false;

  private async refreshStats(): Promise<void> {
    // One round at a time: a slow instance must not pile up requests every tick.
    if (this.refreshing || this.closed) return;
    this.refreshing = true;
    try {
      await this.statsRound();
    } finally {
      this.refreshing = false;
    }
  }

  private async statsRound(): Promise<void> {
    await Promise.all(
      [...this.stats].map(async ([instance, view]) => {
        try {
          const client = await this.clients.for(instanceTopic(this.prefix, instance));
          const snapshot = await client.sendRequest<StatsSnapshot>(TARGET, "rpc.stats", {}, { timeoutMs: STATS_EVERY_MS * 2 });
          if (this.stats.get(instance) === view && snapshot !== null && typeof snapshot === "object") view.update(snapshot);
        } catch (error) {
          if (this.stats.get(instance) === view) view.failed((error as Error).message);
        }
      }),
    );
  }
}
