import { test } from "node:test";
import assert from "node:assert/strict";
import { barChart, escapeXml, lineChart, niceTicks, shortenText, textWidth, wrapText } from "../src/svg.ts";
import { assertInsideViewBox, textBoxes } from "./svg-geometry.ts";

function count(haystack: string, needle: RegExp): number {
  return (haystack.match(needle) ?? []).length;
}

test("niceTicks: round steps of 1, 2 or 5 covering the range", () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0, 10), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0, 37), [0, 10, 20, 30]);
  assert.deepEqual(niceTicks(5, 5), [5]);
});

test("escapeXml escapes markup in titles and labels", () => {
  assert.equal(escapeXml(`a<b>&"c'`), "a&lt;b&gt;&amp;&quot;c&apos;");
  const svg = barChart({ title: "<script>", categories: ["x&y"], series: [{ name: "s", values: [1] }] });
  assert.ok(!svg.includes("<script>"));
  assert.ok(svg.includes("&lt;script&gt;") && svg.includes("x&amp;y"));
});

test("lineChart: one path per series, a point per defined value, gaps break the line", () => {
  const svg = lineChart({
    title: "Accuracy",
    categories: ["initial", "round 0", "round 1", "round 2"],
    yMin: 0,
    yMax: 1,
    series: [{ name: "accuracy", values: [0.25, 0.5, undefined, 0.75] }],
  });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.ok(svg.trimEnd().endsWith("</svg>"));
  assert.equal(count(svg, /<path /g), 1);
  assert.equal(count(svg, /<circle /g), 3);
  const d = /<path d="([^"]+)"/.exec(svg)?.[1] ?? "";
  assert.equal(count(d, /M/g), 2, `a gap starts a new sub-path: ${d}`);
  // y = 1 sits at the top of the plot (margin 40), y = 0 at the bottom (360 - 60)
  assert.match(svg, />1<\/text>/);
  assert.match(svg, /<title>accuracy round 0: 0.5<\/title>/);
  assert.equal(
    svg,
    lineChart({
      title: "Accuracy",
      categories: ["initial", "round 0", "round 1", "round 2"],
      yMin: 0,
      yMax: 1,
      series: [{ name: "accuracy", values: [0.25, 0.5, undefined, 0.75] }],
    }),
    "deterministic output",
  );
});

test("barChart: one rect per value and series, heights proportional to the values", () => {
  const svg = barChart({
    title: "Score and payout",
    categories: ["a", "b", "c"],
    yMin: 0,
    yMax: 100,
    series: [
      { name: "score %", values: [50, 30, 20] },
      { name: "payout %", values: [50, 30, 0] },
    ],
  });
  const bars = [...svg.matchAll(/<rect x="[^"]+" y="([^"]+)" width="([^"]+)" height="([^"]+)" fill="(#[0-9a-f]+)"><title>/g)];
  assert.equal(bars.length, 6);
  const heights = bars.map((m) => Number(m[3]));
  // plot height 360 - 40 - 60 = 260; 50% of 100 -> 130
  assert.equal(heights[0], 130);
  assert.equal(heights[1], 78);
  assert.equal(heights[5], 0);
  assert.notEqual(bars[0]?.[4], bars[3]?.[4], "series have different colours");
  assert.equal(count(svg, /<text x="[^"]+" y="[^"]+">(score %|payout %)<\/text>/g), 2, "legend");
});

test("charts without data still render a valid frame", () => {
  const svg = barChart({ title: "Outliers", categories: [], series: [{ name: "outliers", values: [] }] });
  assert.ok(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"));
  assert.ok(!svg.includes("NaN"));
});

const rounds = (n: number): string[] => ["initial", ...Array.from({ length: n }, (_, i) => `round ${i}`)];

test("a line chart's last category label is inside the view box (the right margin makes room for it)", () => {
  for (const categories of [rounds(13), ["initial", "round 0", "round 1 (last one)"]]) {
    const svg = lineChart({
      title: "Accuracy",
      categories,
      series: [{ name: "accuracy", values: categories.map((_, i) => i / categories.length) }],
      yMin: 0,
      yMax: 1,
      yLabel: "accuracy",
    });
    assertInsideViewBox(svg);
    const last = categories.at(-1) ?? "";
    assert.ok(svg.includes(`>${last}</text>`), `"${last}" is drawn whole`);
  }
});

test("long tick labels widen the left margin instead of running into the y label", () => {
  const svg = barChart({
    title: "Payouts",
    categories: ["a", "b"],
    series: [{ name: "wei", values: [1.5e21, 3e20] }],
    yLabel: "wei",
    yMin: 0,
  });
  assertInsideViewBox(svg);
  const ticks = textBoxes(svg).filter((b) => /e\+/.test(b.content));
  assert.ok(ticks.length > 0);
  for (const t of ticks) for (const [x] of t.corners) assert.ok(x >= 24, `tick "${t.content}" starts right of the y label (x ${x})`);
});

test("category labels that do not fit side by side are rotated, shortened if too long, thinned if too dense", () => {
  const trainers = Array.from({ length: 12 }, (_, i) => `0x${i.toString(16).padStart(4, "0")}…${"beef"}`);
  const rotated = barChart({ title: "Trainers", categories: trainers, series: [{ name: "share", values: trainers.map((_, i) => i + 1) }] });
  assert.match(rotated, /transform="rotate\(-45 /);
  assertInsideViewBox(rotated);

  const long = "a category label far too long for any chart to show in full without cutting it short";
  const shortened = barChart({ title: "Long", categories: [long, "b"], series: [{ name: "v", values: [1, 2] }] });
  assert.ok(!shortened.includes(`>${long}</text>`), "shortened");
  assert.ok(shortened.includes(`<title>${long}</title>`), "the full label stays as a tooltip");
  assert.match(shortened, /…<\/text>/);
  assertInsideViewBox(shortened);

  const many = Array.from({ length: 80 }, (_, i) => `round ${i}`);
  const dense = lineChart({ title: "Dense", categories: many, series: [{ name: "v", values: many.map((_, i) => i) }] });
  assertInsideViewBox(dense);
  const drawn = textBoxes(dense).filter((b) => b.content.startsWith("round ")).length;
  assert.ok(drawn > 1 && drawn < many.length, `every k-th label (${drawn} of ${many.length})`);
});

test("titles, notes and legends that are too long wrap inside the view box", () => {
  const svg = barChart({
    title: "A title long enough that it cannot possibly fit on one line of a chart six hundred and forty pixels wide",
    note: "A note under the title that explains, in one sentence, what the bars are and why two of them can differ from each other in a chart.",
    categories: ["a", "b"],
    series: [
      { name: "the first series, which has a rather long name indeed", values: [1, 2] },
      { name: "the second series, whose name is about as long as the first", values: [2, 1] },
    ],
    yLabel: "a y label",
  });
  assertInsideViewBox(svg);
  assert.ok(count(svg, /font-weight="bold"/g) >= 2, "the title wraps");
});

test("a chart with nothing to plot says so instead of drawing an empty plot", () => {
  const svg = barChart({
    title: "Updates not aggregated per round",
    categories: ["round 0", "round 1"],
    series: [
      { name: "outliers", values: [0, 0] },
      { name: "excluded", values: [0, 0] },
    ],
    empty: "no outliers: every update was aggregated",
  });
  assert.ok(svg.includes(">no outliers: every update was aggregated</text>"));
  assert.equal(count(svg, /<rect [^>]*><title>/g), 0, "no bars");
  assert.ok(!svg.includes(">outliers</text>"), "no legend");
  assertInsideViewBox(svg);
  const line = lineChart({ title: "Accuracy", categories: ["initial"], series: [{ name: "accuracy", values: [undefined] }] });
  assert.ok(line.includes(">no data</text>"), "the default message");
});

test("wrapText and shortenText keep text within a width", () => {
  assert.deepEqual(wrapText("one two three", textWidth("one two"), 12), ["one two", "three"]);
  assert.equal(shortenText("short", 100), "short");
  const cut = shortenText("a label that is much too long", 60);
  assert.ok(cut.endsWith("…") && textWidth(cut) <= 60, cut);
});
