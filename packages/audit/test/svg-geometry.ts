/**
 * Where the texts of a chart are: each `<text>` element's box from its attributes (position,
 * anchor, rotation) and the charts' own width estimate, to check that nothing leaves the view box.
 */
import assert from "node:assert/strict";
import { textWidth } from "../src/svg.ts";

/** The box a `<text>` element covers, from its attributes and the same width estimate the charts use. */
export interface TextBox {
  readonly content: string;
  readonly corners: readonly (readonly [number, number])[];
}

export function textBoxes(svg: string): TextBox[] {
  const boxes: TextBox[] = [];
  for (const m of svg.matchAll(/<text ([^>]*)>(?:<title>[^<]*<\/title>)?([^<]*)<\/text>/g)) {
    const attrs = m[1] ?? "";
    const attr = (name: string): string | undefined => new RegExp(`(?:^| )${name}="([^"]*)"`).exec(attrs)?.[1];
    const content = (m[2] ?? "")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, "&");
    const size = Number(attr("font-size") ?? 12);
    const w = textWidth(content, size, attr("font-weight") === "bold");
    const x = Number(attr("x") ?? 0);
    const y = Number(attr("y") ?? 0);
    const anchor = attr("text-anchor") ?? "start";
    const x0 = anchor === "end" ? x - w : anchor === "middle" ? x - w / 2 : x;
    const middle = attr("dominant-baseline") === "middle";
    const [top, bottom] = middle ? [y - size * 0.6, y + size * 0.6] : [y - size * 0.8, y + size * 0.25];
    let corners: [number, number][] = [
      [x0, top],
      [x0 + w, top],
      [x0, bottom],
      [x0 + w, bottom],
    ];
    const transform = attr("transform") ?? "";
    const rotate = /rotate\((-?[\d.]+)(?: (-?[\d.]+) (-?[\d.]+))?\)/.exec(transform);
    const translate = /translate\((-?[\d.]+) (-?[\d.]+)\)/.exec(transform);
    if (rotate !== null) {
      const a = (Number(rotate[1]) * Math.PI) / 180;
      const [cx, cy] = [Number(rotate[2] ?? 0), Number(rotate[3] ?? 0)];
      corners = corners.map(([px, py]) => [
        cx + (px - cx) * Math.cos(a) - (py - cy) * Math.sin(a),
        cy + (px - cx) * Math.sin(a) + (py - cy) * Math.cos(a),
      ]);
    }
    if (translate !== null) corners = corners.map(([px, py]) => [px + Number(translate[1]), py + Number(translate[2])]);
    boxes.push({ content, corners });
  }
  return boxes;
}

/** Every text of `svg` inside its view box. */
export function assertInsideViewBox(svg: string): void {
  const [, , w, h] = (/viewBox="([^"]+)"/.exec(svg)?.[1] ?? "").split(" ").map(Number);
  assert.ok(w !== undefined && h !== undefined && w > 0 && h > 0, "a view box");
  for (const box of textBoxes(svg)) {
    for (const [x, y] of box.corners) {
      assert.ok(x >= 0 && x <= w && y >= 0 && y <= h, `"${box.content}" reaches (${x.toFixed(1)}, ${y.toFixed(1)}), outside 0 0 ${w} ${h}`);
    }
  }
}
