// The time range control: two date inputs, a two-handle slider over days, and play/pause that slides
// the window forward by a step. Emits `{start, end}` as `YYYY-MM-DD` strings (both days inclusive).

import { num, t } from "./i18n.js";

const DAY_MS = 86_400_000;
const toDay = (date) => Math.round(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
const fromDay = (day) => new Date(day * DAY_MS).toISOString().slice(0, 10);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @param {{start: string, end: string}} bounds   the whole period the data covers
 * @param {{start: string, end: string}} initial  the selected range
 * @param {(range: {start: string, end: string}) => void} onChange
 * @param {() => Promise<void>} afterStep  resolves when the map has drawn a step (paces playback)
 */
export function initTimeline({ bounds, initial, onChange, afterStep }) {
  const $ = (id) => document.getElementById(id);
  const els = {
    startDate: $("time-start"), endDate: $("time-end"),
    startRange: $("time-start-range"), endRange: $("time-end-range"),
    play: $("time-play"), step: $("time-step"), reset: $("time-reset"), summary: $("time-summary"),
  };
  const min = toDay(bounds.start);
  const max = Math.max(min, toDay(bounds.end));
  const clamp = (d) => Math.min(max, Math.max(min, d));
  let start = clamp(toDay(initial.start));
  let end = clamp(toDay(initial.end));
  if (start > end) [start, end] = [min, max];
  let playing = false;
  let debounce = null;

  for (const el of [els.startDate, els.endDate]) {
    el.min = fromDay(min);
    el.max = fromDay(max);
  }
  for (const el of [els.startRange, els.endRange]) {
    el.min = String(min);
    el.max = String(max);
    el.step = "1";
  }

  function render() {
    els.startDate.value = fromDay(start);
    els.endDate.value = fromDay(end);
    els.startRange.value = String(start);
    els.endRange.value = String(end);
    els.startRange.setAttribute("aria-valuetext", fromDay(start));
    els.endRange.setAttribute("aria-valuetext", fromDay(end));
    const days = end - start + 1;
    els.summary.textContent = days === 1 ? t("time.day") : t("time.days", { n: num(days) });
    const span = Math.max(1, max - min);
    els.startRange.parentElement.style.setProperty("--from", `${((start - min) / span) * 100}%`);
    els.startRange.parentElement.style.setProperty("--to", `${((end - min) / span) * 100}%`);
  }

  function emit(delay = 0) {
    clearTimeout(debounce);
    const range = { start: fromDay(start), end: fromDay(end) };
    if (delay) debounce = setTimeout(() => onChange(range), delay);
    else onChange(range);
  }

  function set(newStart, newEnd, delay = 0) {
    start = clamp(newStart);
    end = clamp(newEnd);
    if (start > end) [start, end] = [end, start];
    render();
    emit(delay);
  }

  els.startDate.addEventListener("change", () => {
    if (els.startDate.value) set(toDay(els.startDate.value), Math.max(end, toDay(els.startDate.value)));
    else render();
  });
  els.endDate.addEventListener("change", () => {
    if (els.endDate.value) set(Math.min(start, toDay(els.endDate.value)), toDay(els.endDate.value));
    else render();
  });
  // While dragging, wait for the hand to rest before asking for new tiles.
  els.startRange.addEventListener("input", () => set(Math.min(Number(els.startRange.value), end), end, 250));
  els.endRange.addEventListener("input", () => set(start, Math.max(Number(els.endRange.value), start), 250));
  els.reset.addEventListener("click", () => set(min, max));

  function setPlaying(on) {
    playing = on;
    els.play.setAttribute("aria-pressed", String(on));
    els.play.textContent = on ? t("time.pause") : t("time.play");
    document.body.dataset.playing = on ? "1" : "0";
  }

  async function loop() {
    while (playing) {
      const step = Number(els.step.value) || 7;
      const width = end - start;
      if (start + step + width > max) break;
      set(start + step, start + step + width);
      await afterStep();
      await sleep(400);
    }
    setPlaying(false);
  }

  els.play.addEventListener("click", () => {
    if (playing) {
      setPlaying(false);
      return;
    }
    const width = end - start;
    const step = Number(els.step.value) || 7;
    // At the end already (or the window is the whole period): start again from the beginning,
    // with a window narrow enough to move.
    if (end + step > max) {
      const w = width + step > max - min ? Math.min(30, max - min) : width;
      set(min, min + w);
    }
    setPlaying(true);
    loop();
  });

  render();
  setPlaying(false);
  return {
    get range() { return { start: fromDay(start), end: fromDay(end) }; },
    setRange: (range) => set(toDay(range.start), toDay(range.end)),
    stop: () => setPlaying(false),
  };
}
