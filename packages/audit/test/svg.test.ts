import { test } from "node:test";
import assert from "node:assert/strict";
import { barChart, escapeXml, lineChart, niceTicks } from "../src/svg.ts";

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
