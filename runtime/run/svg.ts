// A small hand-rolled SVG generator for run plots: line charts (loss and metric curves), the reliability
// diagram, and overlaid histograms (known vs unknown scores). Output is a standalone, well-formed SVG 1.1
// document; every text and attribute value is escaped. No plotting dependency.

export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const WIDTH = 640;
const HEIGHT = 400;
const MARGIN = { left: 64, right: 150, top: 40, bottom: 52 };

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;")
    .replace(/[^\t\n\r\u0020-\u{10ffff}]/gu, ""); // characters XML 1.0 does not allow
}

type Attributes = Record<string, string | number>;

/** `<name a="v" …>children</name>`, or self-closing without children; attribute values escaped. */
export function element(name: string, attributes: Attributes, children: readonly string[] = []): string {
  const attrs = Object.entries(attributes)
    .map(([k, v]) => ` ${k}="${escapeXml(typeof v === "number" ? fmt(v) : v)}"`)
    .join("");
  return children.length === 0 ? `<${name}${attrs}/>` : `<${name}${attrs}>${children.join("")}</${name}>`;
}

export function text(x: number, y: number, content: string, attributes: Attributes = {}): string {
  return `<text x="${fmt(x)}" y="${fmt(y)}"${Object.entries(attributes)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join("")}>${escapeXml(content)}</text>`;
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 100) / 100) : "0";
}

export function document(width: number, height: number, body: readonly string[]): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">\n` +
    `${element("rect", { x: 0, y: 0, width, height, fill: "white" })}\n${body.join("\n")}\n</svg>\n`
  );
}

/** "Nice" tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

interface Frame {
  readonly x: (v: number) => number;
  readonly y: (v: number) => number;
  readonly parts: string[];
}

function frame(
  title: string,
  xLabel: string,
  yLabel: string,
  xRange: readonly [number, number],
  yRange: readonly [number, number],
): Frame {
  const [x0, x1] = xRange[1] > xRange[0] ? xRange : [xRange[0] - 0.5, xRange[0] + 0.5];
  const [y0, y1] = yRange[1] > yRange[0] ? yRange : [yRange[0] - 0.5, yRange[0] + 0.5];
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (v: number) => MARGIN.left + ((v - x0) / (x1 - x0)) * plotW;
  const y = (v: number) => MARGIN.top + plotH - ((v - y0) / (y1 - y0)) * plotH;
  const parts: string[] = [
    text(WIDTH / 2 - MARGIN.right / 2, 22, title, { "text-anchor": "middle", "font-size": 15 }),
    element("rect", {
      x: MARGIN.left,
      y: MARGIN.top,
      width: plotW,
      height: plotH,
      fill: "none",
      stroke: "#888",
    }),
  ];
  for (const t of ticks(x0, x1)) {
    parts.push(
      element("line", {
        x1: x(t),
        y1: MARGIN.top + plotH,
        x2: x(t),
        y2: MARGIN.top + plotH + 4,
        stroke: "#888",
      }),
    );
    parts.push(text(x(t), MARGIN.top + plotH + 17, formatTick(t), { "text-anchor": "middle" }));
  }
  for (const t of ticks(y0, y1)) {
    parts.push(
      element("line", { x1: MARGIN.left, y1: y(t), x2: MARGIN.left + plotW, y2: y(t), stroke: "#eee" }),
    );
    parts.push(text(MARGIN.left - 6, y(t) + 4, formatTick(t), { "text-anchor": "end" }));
  }
  parts.push(text(MARGIN.left + plotW / 2, HEIGHT - 12, xLabel, { "text-anchor": "middle" }));
  parts.push(
    text(16, MARGIN.top + plotH / 2, yLabel, {
      "text-anchor": "middle",
      transform: `rotate(-90 16 ${fmt(MARGIN.top + plotH / 2)})`,
    }),
  );
  return { x, y, parts };
}

function formatTick(v: number): string {
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3)
    ? v.toExponential(1)
    : String(Number(v.toPrecision(4)));
}

function legend(parts: string[], names: readonly string[], kind: "line" | "box"): void {
  names.forEach((name, i) => {
    const y = MARGIN.top + 10 + i * 18;
    const x = WIDTH - MARGIN.right + 12;
    const colour = PALETTE[i % PALETTE.length]!;
    parts.push(
      kind === "line"
        ? element("line", { x1: x, y1: y, x2: x + 18, y2: y, stroke: colour, "stroke-width": 2 })
        : element("rect", { x, y: y - 6, width: 18, height: 12, fill: colour, "fill-opacity": 0.5 }),
    );
    parts.push(text(x + 24, y + 4, name));
  });
}

function extent(values: readonly number[]): [number, number] {
  const finite = values.filter(Number.isFinite);
  return finite.length === 0 ? [0, 1] : [Math.min(...finite), Math.max(...finite)];
}

/** Curves such as loss per step or accuracy per epoch; non-finite points break the line. */
export function lineChart(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  yRange?: readonly [number, number];
}): string {
  const xs = options.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = options.series.flatMap((s) => s.points.map((p) => p[1]));
  const f = frame(options.title, options.xLabel, options.yLabel, extent(xs), options.yRange ?? extent(ys));
  options.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    let d = "";
    let pen = "M";
    for (const [px, py] of s.points) {
      if (!Number.isFinite(px) || !Number.isFinite(py)) {
        pen = "M";
        continue;
      }
      d += `${pen}${fmt(f.x(px))} ${fmt(f.y(py))} `;
      pen = "L";
    }
    if (d !== "")
      f.parts.push(element("path", { d: d.trim(), fill: "none", stroke: colour, "stroke-width": 1.5 }));
    if (s.points.length <= 50) {
      for (const [px, py] of s.points) {
        if (Number.isFinite(px) && Number.isFinite(py)) {
          f.parts.push(element("circle", { cx: f.x(px), cy: f.y(py), r: 2.5, fill: colour }));
        }
      }
    }
  });
  legend(
    f.parts,
    options.series.map((s) => s.name),
    "line",
  );
  return document(WIDTH, HEIGHT, f.parts);
}

export interface ReliabilityBinData {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  readonly accuracy: number;
  readonly confidence: number;
}

/** Accuracy per confidence bin as bars, the diagonal of perfect calibration, and the gap to it. */
export function reliabilityChart(options: {
  title: string;
  bins: readonly ReliabilityBinData[];
  ece: number;
}): string {
  const f = frame(
    `${options.title} (ECE ${(options.ece * 100).toFixed(2)} %)`,
    "confidence",
    "accuracy",
    [0, 1],
    [0, 1],
  );
  for (const b of options.bins) {
    if (b.count === 0) continue;
    const x = f.x(b.lower);
    const w = f.x(b.upper) - x;
    f.parts.push(
      element("rect", {
        x: x + 1,
        y: f.y(b.accuracy),
        width: Math.max(0, w - 2),
        height: f.y(0) - f.y(b.accuracy),
        fill: PALETTE[0]!,
        "fill-opacity": 0.75,
      }),
    );
    const top = Math.max(b.accuracy, b.confidence);
    const bottom = Math.min(b.accuracy, b.confidence);
    f.parts.push(
      element("rect", {
        x: x + 1,
        y: f.y(top),
        width: Math.max(0, w - 2),
        height: f.y(bottom) - f.y(top),
        fill: PALETTE[1]!,
        "fill-opacity": 0.3,
      }),
    );
  }
  f.parts.push(
    element("line", {
      x1: f.x(0),
      y1: f.y(0),
      x2: f.x(1),
      y2: f.y(1),
      stroke: "#444",
      "stroke-dasharray": "4 3",
    }),
  );
  legend(f.parts, ["accuracy", "gap to confidence"], "box");
  return document(WIDTH, HEIGHT, f.parts);
}

/** Overlaid histograms on shared bins (e.g. MSP of known vs unknown samples), as fractions of each series. */
export function histogramChart(options: {
  title: string;
  xLabel: string;
  series: readonly { name: string; values: ArrayLike<number> }[];
  bins?: number;
}): string {
  const binsCount = options.bins ?? 30;
  const all = options.series.flatMap((s) => Array.from(s.values));
  const [lo, hi0] = extent(all);
  const hi = hi0 > lo ? hi0 : lo + 1;
  const width = (hi - lo) / binsCount;
  const fractions = options.series.map((s) => {
    const counts = new Array<number>(binsCount).fill(0);
    let n = 0;
    for (const v of Array.from(s.values)) {
      if (!Number.isFinite(v)) continue;
      counts[Math.min(binsCount - 1, Math.floor((v - lo) / width))]!++;
      n++;
    }
    return counts.map((c) => (n === 0 ? 0 : c / n));
  });
  const yMax = Math.max(0.01, ...fractions.flat());
  const f = frame(options.title, options.xLabel, "fraction of samples", [lo, hi], [0, yMax * 1.05]);
  fractions.forEach((counts, i) => {
    counts.forEach((c, k) => {
      if (c === 0) return;
      const x = f.x(lo + k * width);
      f.parts.push(
        element("rect", {
          x,
          y: f.y(c),
          width: Math.max(0, f.x(lo + (k + 1) * width) - x),
          height: f.y(0) - f.y(c),
          fill: PALETTE[i % PALETTE.length]!,
          "fill-opacity": 0.45,
        }),
      );
    });
  });
  legend(
    f.parts,
    options.series.map((s) => s.name),
    "box",
  );
  return document(WIDTH, HEIGHT, f.parts);
}
