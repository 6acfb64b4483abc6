/**
 * Tiny, dependency-free SVG charts for the audit report: a line chart (accuracy per round) and a
 * grouped bar chart (score and payout per trainer, outliers per round). Output is deterministic
 * text (fixed decimals), so reports diff cleanly and tests can assert on it.
 *
 * Nothing is drawn outside the view box: the margins are computed from the text they hold (an
 * estimate of its width, `textWidth`): the tick labels set the left margin, the first and last
 * category labels of a line chart the side margins; category labels that do not fit side by side
 * are rotated (and thinned out when even that is too dense), labels too long for any room are
 * shortened with an ellipsis (the full text stays in a tooltip), titles, notes and legends wrap.
 * A chart with nothing to draw says so (`empty`) instead of showing an empty plot.
 */

export interface Series {
  readonly name: string;
  /** One value per category; `undefined` (or NaN) leaves a gap. */
  readonly values: readonly (number | undefined)[];
}

export interface ChartOptions {
  readonly title: string;
  /** One sentence under the title saying what is plotted (wrapped to the chart's width). */
  readonly note?: string;
  /** Category labels along the x axis. */
  readonly categories: readonly string[];
  readonly series: readonly Series[];
  readonly yLabel?: string;
  /** Fixed y range; default `[0, max]` with head room. */
  readonly yMin?: number;
  readonly yMax?: number;
  readonly width?: number;
  /** Default 360; grown when the labels leave the plot too little room. */
  readonly height?: number;
  /** Format of tick and value labels (default: up to 3 significant digits). */
  readonly format?: (v: number) => string;
  /**
   * Said in the middle of the chart instead of an empty plot when there is nothing to draw (a line
   * chart without a finite value, a bar chart without a non-zero one, no categories). Default "no data".
   */
  readonly empty?: string;
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
/** The smallest margins (and those of a chart whose labels fit in them). */
const MIN_MARGIN = { top: 40, right: 20, bottom: 60, left: 64 };
const FONT = 12;
const TITLE_FONT = 15;
const NOTE_FONT = 11;
const TITLE_LINE = 19;
const NOTE_LINE = 14;
const LEGEND_ROW = 18;
/** The longest a category label may be (px) before it is shortened. */
const MAX_CATEGORY_LABEL = 150;
/** Category labels rotated by 45 degrees need this much room along the axis each. */
const ROTATED_PITCH = 16;
const MIN_PLOT_HEIGHT = 120;
const COS45 = Math.SQRT1_2;

/** Escapes text for SVG/XML content and attributes. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

const fx = (v: number): string => (Math.round(v * 100) / 100).toString();

function defaultFormat(v: number): string {
  if (v === 0) return "0";
  const abs = Math.abs(v);
  if (abs >= 1e6 || abs < 1e-3) return v.toExponential(2);
  return Number(v.toPrecision(3)).toString();
}

const NARROW = new Set([..."iljtfrI.,:;|!'()[]{} "]);
const WIDE = new Set([..."mwMW@%…—"]);

/**
 * The width of `text` in a sans-serif font of `fontSize` px, estimated on the generous side
 * (Helvetica/Arial-like advance widths: narrow letters 0.32 em, wide ones 0.95 em, capitals
 * 0.7 em, the rest 0.58 em; bold 8% wider), since an SVG file cannot measure its own text.
 */
export function textWidth(text: string, fontSize = FONT, bold = false): number {
  let em = 0;
  for (const ch of text) em += NARROW.has(ch) ? 0.32 : WIDE.has(ch) ? 0.95 : ch >= "A" && ch <= "Z" ? 0.7 : 0.58;
  return em * fontSize * (bold ? 1.08 : 1);
}

/** `text`, cut and ended with "…" so that it is at most `maxWidth` wide. */
export function shortenText(text: string, maxWidth: number, fontSize = FONT, bold = false): string {
  if (textWidth(text, fontSize, bold) <= maxWidth) return text;
  const chars = [...text];
  while (chars.length > 0 && textWidth(`${chars.join("").trimEnd()}…`, fontSize, bold) > maxWidth) chars.pop();
  return `${chars.join("").trimEnd()}…`;
}

/** `text` in lines of at most `maxWidth` (greedy, on spaces; a word too long for a line is shortened). */
export function wrapText(text: string, maxWidth: number, fontSize = FONT, bold = false): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    const candidate = line === "" ? word : `${line} ${word}`;
    if (textWidth(candidate, fontSize, bold) <= maxWidth) line = candidate;
    else {
      if (line !== "") lines.push(line);
      line = shortenText(word, maxWidth, fontSize, bold);
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** "Nice" tick values covering `[min, max]` (steps of 1, 2 or 5 times a power of ten). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function finite(v: number | undefined): v is number {
  return v !== undefined && Number.isFinite(v);
}

type ChartKind = "line" | "bar";

/** A legend entry placed in its row. */
interface LegendItem {
  readonly x: number;
  readonly row: number;
  readonly name: string;
  readonly full: string;
  readonly color: string;
}

/** Where everything goes: margins, plot area, the y scale, the category axis and the legend. */
interface Layout {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly top: number;
  readonly plotW: number;
  readonly plotH: number;
  readonly yMin: number;
  readonly yMax: number;
  readonly titleLines: readonly string[];
  readonly noteLines: readonly string[];
  readonly ticks: readonly { readonly value: number; readonly label: string }[];
  /** The shortened category labels, and whether each is drawn (dense axes show every k-th). */
  readonly labels: readonly { readonly text: string; readonly full: string; readonly shown: boolean }[];
  readonly rotated: boolean;
  readonly legend: readonly LegendItem[];
  readonly legendRows: number;
  readonly yLabel?: string;
}

/** The x of category `i`'s centre. */
function centerOf(kind: ChartKind, i: number, n: number, left: number, plotW: number): number {
  if (kind === "bar") return left + (i + 0.5) * (plotW / Math.max(1, n));
  return left + (n <= 1 ? plotW / 2 : (i / (n - 1)) * plotW);
}

function spacingOf(kind: ChartKind, n: number, plotW: number): number {
  if (kind === "bar") return plotW / Math.max(1, n);
  return n <= 1 ? plotW : plotW / (n - 1);
}

function layout(o: ChartOptions, kind: ChartKind): Layout {
  const width = o.width ?? 640;
  const format = o.format ?? defaultFormat;
  const titleLines = wrapText(o.title, width - 20, TITLE_FONT, true);
  const noteLines = o.note === undefined ? [] : wrapText(o.note, width - 20, NOTE_FONT);
  const top =
    MIN_MARGIN.top + Math.max(0, titleLines.length - 1) * TITLE_LINE + (noteLines.length > 0 ? noteLines.length * NOTE_LINE + 4 : 0);

  // The y scale, and the left margin its tick labels (and the rotated y label) need.
  const values = o.series.flatMap((s) => s.values.filter(finite));
  const dataMax = values.length > 0 ? Math.max(...values) : 1;
  const dataMin = values.length > 0 ? Math.min(...values) : 0;
  const yMin = o.yMin ?? Math.min(0, dataMin);
  let yMax = o.yMax ?? (dataMax > yMin ? dataMax * 1.1 : yMin + 1);
  if (!(yMax > yMin)) yMax = yMin + 1;
  const ticks = niceTicks(yMin, yMax).map((value) => ({ value, label: format(value) }));
  const tickW = Math.max(0, ...ticks.map((t) => textWidth(t.label)));
  let left = Math.max(MIN_MARGIN.left, tickW + (o.yLabel === undefined ? 16 : 30));
  let right = MIN_MARGIN.right;

  // The category labels: shortened, then side by side if they fit, else rotated by 45 degrees.
  const n = o.categories.length;
  const labels = o.categories.map((full) => ({ full, text: shortenText(full, MAX_CATEGORY_LABEL) }));
  const widths = labels.map((l) => textWidth(l.text));
  const widest = Math.max(0, ...widths);
  const fitsFlat = (plotW: number): boolean => n <= 1 || widest + 8 <= spacingOf(kind, n, plotW);
  let rotated = !fitsFlat(width - left - right);
  if (!rotated && kind === "line" && n > 0) {
    // The first and last labels are centred on the plot's edges: the margins hold their halves.
    left = Math.max(left, (widths[0] ?? 0) / 2 + 6);
    right = Math.max(right, (widths[n - 1] ?? 0) / 2 + 6);
    rotated = !fitsFlat(width - left - right);
    if (rotated) right = MIN_MARGIN.right;
  }
  if (rotated) {
    // Anchored at their end under the tick, rotated labels reach down and to the left.
    for (let pass = 0; pass < 3; pass++) {
      const plotW = width - left - right;
      const need = Math.max(0, ...widths.map((w, i) => w * COS45 + 6 - (centerOf(kind, i, n, left, plotW) - left)));
      if (need <= left) break;
      left = need;
    }
  }
  const plotW = width - left - right;
  const step = rotated ? Math.max(1, Math.ceil(ROTATED_PITCH / Math.max(1e-9, spacingOf(kind, n, plotW)))) : 1;
  const labelBand = rotated ? 12 + widest * COS45 + FONT * COS45 + 4 : 22;

  // The legend: items in rows that wrap at the chart's width.
  const legend: LegendItem[] = [];
  let x = left;
  let row = 0;
  o.series.forEach((s, i) => {
    const name = shortenText(s.name, width - left - 24);
    const itemW = 14 + textWidth(name) + 12;
    if (x > left && x + itemW > width - 10) {
      row++;
      x = left;
    }
    legend.push({ x, row, name, full: s.name, color: COLORS[i % COLORS.length] as string });
    x += itemW;
  });
  const legendRows = legend.length === 0 ? 0 : row + 1;

  const bottom = Math.max(MIN_MARGIN.bottom, labelBand + (legendRows === 0 ? 10 : 30 + (legendRows - 1) * LEGEND_ROW));
  const height = Math.max(o.height ?? 360, top + bottom + MIN_PLOT_HEIGHT);
  const plotH = height - top - bottom;
  const yLabel = o.yLabel === undefined ? undefined : shortenText(o.yLabel, plotH);
  return {
    width,
    height,
    left,
    top,
    plotW,
    plotH,
    yMin,
    yMax,
    titleLines,
    noteLines,
    ticks,
    labels: labels.map((l, i) => ({ ...l, shown: i % step === 0 })),
    rotated,
    legend,
    legendRows,
    ...(yLabel === undefined ? {} : { yLabel }),
  };
}

/** A text element, with the full text as a tooltip when it was shortened. */
function text(attrs: string, shown: string, full = shown): string {
  const tip = shown === full ? "" : `<title>${escapeXml(full)}</title>`;
  return `<text ${attrs}>${tip}${escapeXml(shown)}</text>`;
}

/** The SVG's opening, background, title and note. */
function head(l: Layout, o: ChartOptions): string[] {
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${l.width}" height="${fx(l.height)}" viewBox="0 0 ${l.width} ${fx(l.height)}" font-family="sans-serif" font-size="${FONT}">`,
    `<title>${escapeXml(o.title)}</title>`,
    `<rect width="${l.width}" height="${fx(l.height)}" fill="#ffffff"/>`,
  ];
  l.titleLines.forEach((line, i) => {
    parts.push(
      text(`x="${fx(l.width / 2)}" y="${22 + i * TITLE_LINE}" text-anchor="middle" font-size="${TITLE_FONT}" font-weight="bold"`, line),
    );
  });
  const noteTop = 22 + (l.titleLines.length - 1) * TITLE_LINE + 18;
  l.noteLines.forEach((line, i) => {
    parts.push(
      text(`x="${fx(l.width / 2)}" y="${noteTop + i * NOTE_LINE}" text-anchor="middle" font-size="${NOTE_FONT}" fill="#555"`, line),
    );
  });
  return parts;
}

/** The whole chart when there is nothing to plot: its title, and `message` where the plot would be. */
function emptyChart(l: Layout, o: ChartOptions): string {
  const parts = head(l, o);
  parts.push(`<rect x="${fx(l.left)}" y="${fx(l.top)}" width="${fx(l.plotW)}" height="${fx(l.plotH)}" fill="#fafafa" stroke="#e0e0e0"/>`);
  const lines = wrapText(o.empty ?? "no data", l.plotW - 20, 14);
  const y0 = l.top + l.plotH / 2 - ((lines.length - 1) * 18) / 2;
  lines.forEach((line, i) => {
    parts.push(
      text(
        `x="${fx(l.left + l.plotW / 2)}" y="${fx(y0 + i * 18)}" text-anchor="middle" dominant-baseline="middle" font-size="14" fill="#555"`,
        line,
      ),
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/** The chart's frame: title, note, grid and ticks, axes, y label, category labels and legend. */
function frame(l: Layout, o: ChartOptions, kind: ChartKind): { parts: string[]; y: (v: number) => number } {
  const parts = head(l, o);
  const y = (v: number): number => l.top + l.plotH - ((v - l.yMin) / (l.yMax - l.yMin)) * l.plotH;
  const right = l.left + l.plotW;
  const bottom = l.top + l.plotH;
  for (const t of l.ticks) {
    const ty = fx(y(t.value));
    parts.push(`<line x1="${fx(l.left)}" y1="${ty}" x2="${fx(right)}" y2="${ty}" stroke="#e0e0e0"/>`);
    parts.push(text(`x="${fx(l.left - 6)}" y="${ty}" text-anchor="end" dominant-baseline="middle"`, t.label));
  }
  parts.push(`<line x1="${fx(l.left)}" y1="${fx(l.top)}" x2="${fx(l.left)}" y2="${fx(bottom)}" stroke="#333"/>`);
  parts.push(`<line x1="${fx(l.left)}" y1="${fx(bottom)}" x2="${fx(right)}" y2="${fx(bottom)}" stroke="#333"/>`);
  if (l.yLabel !== undefined) {
    parts.push(text(`transform="translate(16 ${fx(l.top + l.plotH / 2)}) rotate(-90)" text-anchor="middle"`, l.yLabel, o.yLabel));
  }
  const n = l.labels.length;
  l.labels.forEach((label, i) => {
    if (!label.shown) return;
    const cx = fx(centerOf(kind, i, n, l.left, l.plotW));
    if (l.rotated) {
      const ly = fx(bottom + 12);
      parts.push(text(`x="${cx}" y="${ly}" text-anchor="end" transform="rotate(-45 ${cx} ${ly})"`, label.text, label.full));
    } else {
      parts.push(text(`x="${cx}" y="${fx(bottom + 16)}" text-anchor="middle"`, label.text, label.full));
    }
  });
  for (const item of l.legend) {
    const ly = l.height - 14 - (l.legendRows - 1 - item.row) * LEGEND_ROW;
    parts.push(`<rect x="${fx(item.x)}" y="${fx(ly - 9)}" width="10" height="10" fill="${item.color}"/>`);
    parts.push(text(`x="${fx(item.x + 14)}" y="${fx(ly)}"`, item.name, item.full));
  }
  return { parts, y };
}

/** One line per series over the categories; points are marked and gaps skipped. */
export function lineChart(o: ChartOptions): string {
  const l = layout(o, "line");
  if (o.categories.length === 0 || !o.series.some((s) => s.values.some(finite))) return emptyChart(l, o);
  const { parts, y } = frame(l, o, "line");
  const n = o.categories.length;
  const x = (i: number): number => centerOf("line", i, n, l.left, l.plotW);
  o.series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length] as string;
    let path = "";
    let pen = false;
    s.values.forEach((v, i) => {
      if (!finite(v)) {
        pen = false;
        return;
      }
      path += `${pen ? "L" : "M"}${fx(x(i))} ${fx(y(v))} `;
      pen = true;
    });
    if (path !== "") parts.push(`<path d="${path.trim()}" fill="none" stroke="${color}" stroke-width="2"/>`);
    s.values.forEach((v, i) => {
      if (!finite(v)) return;
      parts.push(
        `<circle cx="${fx(x(i))}" cy="${fx(y(v))}" r="3.5" fill="${color}"><title>${escapeXml(`${s.name} ${o.categories[i] ?? i}: ${(o.format ?? defaultFormat)(v)}`)}</title></circle>`,
      );
    });
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/** Bars grouped by category, one bar per series. */
export function barChart(o: ChartOptions): string {
  const l = layout(o, "bar");
  if (o.categories.length === 0 || !o.series.some((s) => s.values.some((v) => finite(v) && v !== 0))) return emptyChart(l, o);
  const { parts, y } = frame(l, o, "bar");
  const n = Math.max(1, o.categories.length);
  const groupW = l.plotW / n;
  const barW = (groupW * 0.8) / Math.max(1, o.series.length);
  const base = y(Math.max(l.yMin, 0));
  o.series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length] as string;
    s.values.forEach((v, i) => {
      if (!finite(v)) return;
      const x = l.left + i * groupW + groupW * 0.1 + k * barW;
      const top = y(v);
      parts.push(
        `<rect x="${fx(x)}" y="${fx(Math.min(top, base))}" width="${fx(barW)}" height="${fx(Math.abs(base - top))}" fill="${color}"><title>${escapeXml(`${s.name} ${o.categories[i] ?? i}: ${(o.format ?? defaultFormat)(v)}`)}</title></rect>`,
      );
    });
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
