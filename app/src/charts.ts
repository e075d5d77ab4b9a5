/** Small SVG bar charts for the market's figures: nothing to load, readable in a screenshot. */

export interface Bar {
  label: string;
  value: number;
}

const W = 360;
const H = 140;
const PAD = { left: 44, right: 8, top: 10, bottom: 22 };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** A bar chart of `bars` with its largest value on the axis and every `labelEvery`-th label. */
export function barChart(title: string, bars: Bar[], unit: string, labelEvery = 1): string {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  // At most 40 px a bar, so that a few bars still read as bars.
  const step = bars.length ? Math.min(40, iw / bars.length) : iw;
  const rects = bars
    .map((b, i) => {
      const h = (b.value / max) * ih;
      const x = PAD.left + i * step;
      const label =
        i % labelEvery === 0
          ? `<text x="${x + step / 2}" y="${H - 6}" text-anchor="middle" class="tick">${esc(b.label)}</text>`
          : "";
      return (
        `<rect x="${x + 1}" y="${PAD.top + ih - h}" width="${Math.max(1, step - 2)}" height="${h}">` +
        `<title>${esc(b.label)}: ${b.value.toLocaleString("en-US")} ${esc(unit)}</title></rect>${label}`
      );
    })
    .join("");
  return (
    `<figure class="chart"><figcaption>${esc(title)}</figcaption>` +
    `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">` +
    `<line x1="${PAD.left}" y1="${PAD.top + ih}" x2="${W - PAD.right}" y2="${PAD.top + ih}" class="axis"/>` +
    `<text x="${PAD.left - 4}" y="${PAD.top + 8}" text-anchor="end" class="tick">${max.toLocaleString("en-US")}</text>` +
    `<text x="${PAD.left - 4}" y="${PAD.top + ih}" text-anchor="end" class="tick">0</text>` +
    (bars.length ? rects : `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="tick">nothing yet</text>`) +
    `</svg></figure>`
  );
}

/** Counts of `times` (unix seconds) per minute over the `minutes` minutes up to `now`. */
export function perMinute(times: number[], now: number, minutes: number): Bar[] {
  const end = Math.floor(now / 60);
  return Array.from({ length: minutes }, (_, i) => {
    const minute = end - minutes + 1 + i;
    const d = new Date(minute * 60_000);
    return {
      label: `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`,
      value: times.filter((t) => Math.floor(t / 60) === minute).length,
    };
  });
}
