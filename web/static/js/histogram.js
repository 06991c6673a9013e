// Incidents per day over the whole period, drawn as SVG bars above the time slider (aligned with its
// track), from /analysis/timeseries. The selected range is highlighted; its total is reported.

import { api } from "./config.js";
import { date, num, t } from "./i18n.js";
import { fetchJSON } from "./status.js";

const SVG = "http://www.w3.org/2000/svg";
const DAY_MS = 86_400_000;
const toDay = (date) => Math.round(Date.parse(`${date.slice(0, 10)}T00:00:00Z`) / DAY_MS);
const HEIGHT = 40;

/**
 * @param {SVGSVGElement} svg
 * @param {{start: string, end: string}} bounds  the period the slider spans
 * @param {(summary: {total: number|null, days: number}) => void} onTotal  the selected range's count
 * @param {{start: string, end: string}} initial  the selected range to begin with
 */
export function initHistogram(svg, bounds, onTotal, initial = bounds) {
  const min = toDay(bounds.start);
  const max = Math.max(min, toDay(bounds.end));
  const width = max - min + 1;
  svg.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
  svg.setAttribute("preserveAspectRatio", "none");
  let counts = null; // day index -> incidents
  let range = { start: initial.start ?? bounds.start, end: initial.end ?? bounds.end };
  let controller = null;
  let timer = null;

  function total() {
    if (!counts) return null;
    let sum = 0;
    for (let d = toDay(range.start); d <= toDay(range.end); d += 1) sum += counts.get(d) ?? 0;
    return sum;
  }

  function draw() {
    if (!counts) return;
    const peak = Math.max(1, ...counts.values());
    const from = toDay(range.start);
    const to = toDay(range.end);
    const bars = [];
    for (const [day, n] of counts) {
      if (day < min || day > max || n <= 0) continue;
      const h = Math.max(1, (Math.sqrt(n) / Math.sqrt(peak)) * HEIGHT);
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", String(day - min));
      rect.setAttribute("y", String(HEIGHT - h));
      rect.setAttribute("width", "1");
      rect.setAttribute("height", String(h));
      rect.setAttribute("class", day >= from && day <= to ? "in" : "out");
      const title = document.createElementNS(SVG, "title");
      title.textContent = t("histogram.bar", { date: date(new Date(day * DAY_MS)), n: num(n) });
      rect.append(title);
      bars.push(rect);
    }
    svg.replaceChildren(...bars);
    svg.setAttribute("aria-label", t("histogram.summary", { n: num(peak) }));
    svg.dataset.bars = String(bars.length);
  }

  function report() {
    onTotal({ total: total(), days: toDay(range.end) - toDay(range.start) + 1 });
  }

  async function load(params) {
    controller?.abort();
    controller = new AbortController();
    const query = new URLSearchParams({ step: "day", datetime: `${bounds.start}T00:00:00Z/${bounds.end}T23:59:59Z`, ...params });
    svg.dataset.loading = "1";
    try {
      const body = await fetchJSON(`${api.timeseries}?${query}`, {
        what: t("error.series"), signal: controller.signal, quiet: true,
      });
      counts = new Map((body.series ?? []).map((row) => [toDay(row.period), Number(row.incidents) || 0]));
      delete svg.dataset.failed;
      draw();
      report();
    } catch (err) {
      if (err.name === "AbortError") return;
      counts = null;
      svg.replaceChildren();
      svg.dataset.failed = "1";
      onTotal({ total: null, days: 0, error: err.message });
    } finally {
      delete svg.dataset.loading;
    }
  }

  return {
    /** Refetch with new filter/bbox parameters (debounced: panning asks once it rests). */
    update(params, delay = 300) {
      clearTimeout(timer);
      timer = setTimeout(() => load(params), delay);
    },
    setRange(next) {
      range = next;
      draw();
      report();
    },
  };
}
