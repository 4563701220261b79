/** A hand-written SVG line chart: throughput against calls in flight, one line per system. */
import { grouped } from "./format.js";

export interface Series {
  name: string;
  /** calls/s by in-flight level; missing or NaN points are skipped. */
  points: Record<number, number>;
  /** Drawn as a legend entry only. */
  failed?: boolean;
}

const COLORS = ["#4d4d4d", "#1f77b4", "#17becf", "#2ca02c", "#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f"];
const WIDTH = 760;
const HEIGHT = 420;
const MARGIN = { top: 48, right: 230, bottom: 56, left: 78 };

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Gridlines of a log axis: 1, 2 and 5 × each power of ten from `min` to `max`. */
function logTicks(min: number, max: number): { value: number; major: boolean }[] {
  const ticks: { value: number; major: boolean }[] = [];
  for (let decade = min; decade <= max; decade *= 10) {
    for (const m of [1, 2, 5]) if (decade * m <= max) ticks.push({ value: decade * m, major: m === 1 });
  }
  return ticks;
}

export function throughputChart(title: string, levels: readonly number[], series: readonly Series[]): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const values = series.flatMap((s) => Object.values(s.points)).filter((value) => Number.isFinite(value) && value > 0);
  // A log axis: rates here span from a handful of calls/s (a client losing its replies) to 10^5.
  const yMin = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...values, 1e9))));
  const top = Math.max(10, ...values);
  const topDecade = 10 ** Math.floor(Math.log10(top));
  const yMax = [1, 2, 5, 10].map((m) => m * topDecade).find((candidate) => candidate >= top)!;
  // Levels are spaced evenly: they grow geometrically, and a linear axis would bunch 1 and 16 together.
  const x = (index: number) => MARGIN.left + (levels.length === 1 ? plotWidth / 2 : (index * plotWidth) / (levels.length - 1));
  // Rates below the floor (zero included) sit on it.
  const y = (value: number) => MARGIN.top + plotHeight - ((Math.log10(Math.max(value, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotHeight;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  out.push(`<text x="${MARGIN.left}" y="26" font-size="15" font-weight="600">${escapeXml(title)}</text>`);
  // Label 2× and 5× gridlines only when a decade is tall enough for three labels.
  const decadeHeight = plotHeight / (Math.log10(yMax) - Math.log10(yMin));
  for (const { value, major } of logTicks(yMin, yMax)) {
    const py = y(value).toFixed(1);
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${py}" y2="${py}" stroke="${major ? "#d0d0d0" : "#eeeeee"}"/>`);
    if (major || decadeHeight >= 110) {
      out.push(`<text x="${MARGIN.left - 8}" y="${py}" text-anchor="end" dominant-baseline="middle" fill="${major ? "#555" : "#999"}">${grouped(value)}</text>`);
    }
  }
  levels.forEach((level, index) => {
    const px = x(index).toFixed(1);
    out.push(`<line x1="${px}" x2="${px}" y1="${MARGIN.top + plotHeight}" y2="${MARGIN.top + plotHeight + 5}" stroke="#555"/>`);
    out.push(`<text x="${px}" y="${MARGIN.top + plotHeight + 19}" text-anchor="middle" fill="#555">${level}</text>`);
  });
  out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${MARGIN.top + plotHeight}" y2="${MARGIN.top + plotHeight}" stroke="#555"/>`);
  out.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 12}" text-anchor="middle">calls in flight (closed loop)</text>`);
  out.push(`<text transform="translate(18 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">calls per second (log scale)</text>`);

  let belowFloor = false;
  series.forEach((s, index) => {
    const color = COLORS[index % COLORS.length]!;
    const points = levels.map((level, i) => [x(i), s.points[level]] as const).filter((p): p is readonly [number, number] => p[1] !== undefined && Number.isFinite(p[1]));
    if (!s.failed && points.length > 0) {
      const path = points.map(([px, value]) => `${px.toFixed(1)},${y(value).toFixed(1)}`).join(" ");
      out.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
      for (const [px, value] of points) {
        // Hollow: below the floor of the axis (a log axis has no zero), drawn on the floor.
        const fill = value >= yMin ? color : "#ffffff";
        out.push(`<circle cx="${px.toFixed(1)}" cy="${y(value).toFixed(1)}" r="3.5" fill="${fill}" stroke="${color}" stroke-width="1.5"><title>${escapeXml(`${s.name}: ${grouped(value)} calls/s`)}</title></circle>`);
      }
      if (points.some(([, value]) => value < yMin)) belowFloor = true;
    }
    const ly = MARGIN.top + 8 + index * 22;
    const lx = MARGIN.left + plotWidth + 24;
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${s.failed ? "#bbbbbb" : color}" stroke-width="2"${s.failed ? ` stroke-dasharray="3 3"` : ""}/>`);
    out.push(`<text x="${lx + 30}" y="${ly}" dominant-baseline="middle"${s.failed ? ` fill="#999"` : ""}>${escapeXml(s.failed ? `${s.name} (failed)` : s.name)}</text>`);
  });
  if (belowFloor) {
    out.push(`<text x="${MARGIN.left + plotWidth + 24}" y="${MARGIN.top + 8 + series.length * 22 + 10}" fill="#777" font-size="11">hollow point: under ${grouped(yMin)} call${yMin === 1 ? "" : "s"}/s</text>`);
  }
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
