/**
 * Each instance's `rpc.stats` as two small uPlot charts that refresh: calls and errors (totals over its
 * methods), and latency (the calls' average and the worst p99 over its methods), plus the numbers per method.
 * A chart keeps its last `MAX_POINTS` readings.
 */
import uPlot from "uplot";
import type { StatsSnapshot } from "../../instances/stats.js";
import { el, replace, short } from "./dom.js";

export const MAX_POINTS = 120;

export interface StatsTotals {
  calls: number;
  errors: number;
  averageMs: number;
  p99Ms: number;
}

/** The totals over `snapshot`'s methods: counts add up, the average is weighted by calls, p99 is the worst. */
export function totals(snapshot: StatsSnapshot): StatsTotals {
  let calls = 0;
  let errors = 0;
  let weighted = 0;
  let p99Ms = 0;
  for (const stats of Object.values(snapshot.methods ?? {})) {
    if (typeof stats !== "object" || stats === null) continue;
    const c = finite(stats.calls);
    calls += c;
    errors += finite(stats.errors);
    weighted += c * finite(stats.averageMs);
    p99Ms = Math.max(p99Ms, finite(stats.p99Ms));
  }
  return { calls, errors, averageMs: calls === 0 ? 0 : weighted / calls, p99Ms };
}

function finite(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : 0;
}

export class InstanceStats {
  readonly element: HTMLElement;
  private readonly summary = el("p", { class: "stats-summary" }, "waiting for rpc.stats…");
  private readonly table = el("div", { class: "stats-methods" });
  private readonly data: [number[], number[], number[], number[], number[]] = [[], [], [], [], []];
  private readonly callsChart: uPlot;
  private readonly latencyChart: uPlot;

  constructor(readonly instance: string) {
    const callsHolder = el("div", { class: "chart chart-calls" });
    const latencyHolder = el("div", { class: "chart chart-latency" });
    this.element = el("div", { class: "instance-stats", "data-instance": short(instance, 256) }, el("h4", {}, short(instance, 256)), this.summary, callsHolder, latencyHolder, this.table);
    const base = { width: 300, height: 120, legend: { show: false }, cursor: { show: false }, scales: { x: { time: true } } } as const;
    this.callsChart = new uPlot(
      { ...base, title: "calls (blue), errors (red)", series: [{}, { label: "calls", stroke: "#2563eb", width: 2 }, { label: "errors", stroke: "#dc2626", width: 2 }] },
      [this.data[0], this.data[1], this.data[2]],
      callsHolder,
    );
    this.latencyChart = new uPlot(
      { ...base, title: "latency ms: avg (green), p99 (orange)", series: [{}, { label: "avg", stroke: "#059669", width: 2 }, { label: "p99", stroke: "#d97706", width: 2 }] },
      [this.data[0], this.data[3], this.data[4]],
      latencyHolder,
    );
  }

  update(snapshot: StatsSnapshot): void {
    const sum = totals(snapshot);
    const now = Date.now() / 1000;
    const series = [now, sum.calls, sum.errors, Math.round(sum.averageMs * 1000) / 1000, sum.p99Ms];
    series.forEach((value, i) => {
      const column = this.data[i]!;
      column.push(value);
      if (column.length > MAX_POINTS) column.shift();
    });
    this.callsChart.setData([this.data[0], this.data[1], this.data[2]]);
    this.latencyChart.setData([this.data[0], this.data[3], this.data[4]]);
    // One reading: a time axis over the last minute (uPlot would put it at the start of a day-long axis).
    if (this.data[0].length === 1) for (const chart of [this.callsChart, this.latencyChart]) chart.setScale("x", { min: now - 60, max: now });
    this.summary.dataset.calls = String(sum.calls);
    this.summary.dataset.errors = String(sum.errors);
    this.summary.textContent = `${sum.calls} call${sum.calls === 1 ? "" : "s"}, ${sum.errors} error${sum.errors === 1 ? "" : "s"}, avg ${sum.averageMs.toFixed(2)} ms, p99 ${sum.p99Ms} ms`;
    const rows = Object.entries(snapshot.methods ?? {})
      .slice(0, 100)
      .map(([method, stats]) => el("tr", {}, el("td", {}, short(method, 100)), el("td", {}, String(finite(stats?.calls))), el("td", {}, String(finite(stats?.errors))), el("td", {}, String(finite(stats?.p50Ms))), el("td", {}, String(finite(stats?.p99Ms)))));
    replace(this.table, rows.length === 0 ? null : el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "method"), el("th", {}, "calls"), el("th", {}, "errors"), el("th", {}, "p50 ms"), el("th", {}, "p99 ms"))), el("tbody", {}, ...rows)));
  }

  failed(message: string): void {
    this.summary.textContent = `rpc.stats: ${short(message, 300)}`;
  }

  destroy(): void {
    this.callsChart.destroy();
    this.latencyChart.destroy();
    this.element.remove();
  }
}
