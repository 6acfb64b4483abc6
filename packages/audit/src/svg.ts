/**
 * Tiny, dependency-free SVG charts for the audit report: a line chart (accuracy per round) and a
 * grouped bar chart (score and payout per trainer, outliers per round). Output is deterministic
 * text (fixed decimals), so reports diff cleanly and tests can assert on it.
 */

export interface Series {
  readonly name: string;
  /** One value per category; `undefined` (or NaN) leaves a gap. */
  readonly values: readonly (number | undefined)[];
}

export interface ChartOptions {
  readonly title: string;
  /** Category labels along the x axis. */
  readonly categories: readonly string[];
  readonly series: readonly Series[];
  readonly yLabel?: string;
  /** Fixed y range; default `[0, max]` with head room. */
  readonly yMin?: number;
  readonly yMax?: number;
  readonly width?: number;
  readonly height?: number;
  /** Format of tick and value labels (default: up to 3 significant digits). */
  readonly format?: (v: number) => string;
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
const MARGIN = { top: 40, right: 20, bottom: 60, left: 64 };

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

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly plotW: number;
  readonly plotH: number;
  readonly yMin: number;
  readonly yMax: number;
  y(v: number): number;
  readonly parts: string[];
}

function finite(v: number | undefined): v is number {
  return v !== undefined && Number.isFinite(v);
}

function frame(o: ChartOptions): Frame {
  const width = o.width ?? 640;
  const height = o.height ?? 360;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const values = o.series.flatMap((s) => s.values.filter(finite));
  const dataMax = values.length > 0 ? Math.max(...values) : 1;
  const dataMin = values.length > 0 ? Math.min(...values) : 0;
  const yMin = o.yMin ?? Math.min(0, dataMin);
  let yMax = o.yMax ?? (dataMax > yMin ? dataMax * 1.1 : yMin + 1);
  if (!(yMax > yMin)) yMax = yMin + 1;
  const y = (v: number): number => MARGIN.top + plotH - ((v - yMin) / (yMax - yMin)) * plotH;
  const format = o.format ?? defaultFormat;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(o.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${fx(width / 2)}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`,
  ];
  for (const t of niceTicks(yMin, yMax)) {
    const ty = fx(y(t));
    parts.push(`<line x1="${MARGIN.left}" y1="${ty}" x2="${MARGIN.left + plotW}" y2="${ty}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle">${escapeXml(format(t))}</text>`);
  }
  parts.push(`<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + plotH}" stroke="#333"/>`);
  parts.push(`<line x1="${MARGIN.left}" y1="${MARGIN.top + plotH}" x2="${MARGIN.left + plotW}" y2="${MARGIN.top + plotH}" stroke="#333"/>`);
  if (o.yLabel !== undefined) {
    parts.push(
      `<text transform="translate(16 ${fx(MARGIN.top + plotH / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(o.yLabel)}</text>`,
    );
  }
  return { width, height, plotW, plotH, yMin, yMax, y, parts };
}

function legend(f: Frame, series: readonly Series[]): void {
  let x = MARGIN.left;
  const y = f.height - 14;
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] as string;
    f.parts.push(`<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${color}"/>`);
    f.parts.push(`<text x="${x + 14}" y="${y}">${escapeXml(s.name)}</text>`);
    x += 24 + s.name.length * 7;
  });
}

function categoryLabels(f: Frame, categories: readonly string[], center: (i: number) => number): void {
  categories.forEach((c, i) => {
    f.parts.push(`<text x="${fx(center(i))}" y="${MARGIN.top + f.plotH + 16}" text-anchor="middle">${escapeXml(c)}</text>`);
  });
}

/** One line per series over the categories; points are marked and gaps skipped. */
export function lineChart(o: ChartOptions): string {
  const f = frame(o);
  const n = o.categories.length;
  const x = (i: number): number => MARGIN.left + (n <= 1 ? f.plotW / 2 : (i / (n - 1)) * f.plotW);
  o.series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length] as string;
    let path = "";
    let pen = false;
    s.values.forEach((v, i) => {
      if (!finite(v)) {
        pen = false;
        return;
      }
      path += `${pen ? "L" : "M"}${fx(x(i))} ${fx(f.y(v))} `;
      pen = true;
    });
    if (path !== "") f.parts.push(`<path d="${path.trim()}" fill="none" stroke="${color}" stroke-width="2"/>`);
    s.values.forEach((v, i) => {
      if (!finite(v)) return;
      f.parts.push(
        `<circle cx="${fx(x(i))}" cy="${fx(f.y(v))}" r="3.5" fill="${color}"><title>${escapeXml(`${s.name} ${o.categories[i] ?? i}: ${(o.format ?? defaultFormat)(v)}`)}</title></circle>`,
      );
    });
  });
  categoryLabels(f, o.categories, x);
  legend(f, o.series);
  f.parts.push("</svg>");
  return `${f.parts.join("\n")}\n`;
}

/** Bars grouped by category, one bar per series. */
export function barChart(o: ChartOptions): string {
  const f = frame(o);
  const n = Math.max(1, o.categories.length);
  const groupW = f.plotW / n;
  const barW = (groupW * 0.8) / Math.max(1, o.series.length);
  const base = f.y(Math.max(f.yMin, 0));
  o.series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length] as string;
    s.values.forEach((v, i) => {
      if (!finite(v)) return;
      const x = MARGIN.left + i * groupW + groupW * 0.1 + k * barW;
      const top = f.y(v);
      const y = Math.min(top, base);
      f.parts.push(
        `<rect x="${fx(x)}" y="${fx(y)}" width="${fx(barW)}" height="${fx(Math.abs(base - top))}" fill="${color}"><title>${escapeXml(`${s.name} ${o.categories[i] ?? i}: ${(o.format ?? defaultFormat)(v)}`)}</title></rect>`,
      );
    });
  });
  categoryLabels(f, o.categories, (i) => MARGIN.left + (i + 0.5) * groupW);
  legend(f, o.series);
  f.parts.push("</svg>");
  return `${f.parts.join("\n")}\n`;
}
