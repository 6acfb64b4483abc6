/**
 * The report's charts and tables: a chart with nothing to plot says why, the score and payout
 * shares say what they are and why they differ, and no text leaves its chart.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { auditCharts, auditMarkdown, SHARE_EXPLANATION, type AuditReport, type RoundAudit } from "../src/index.ts";
import { trainer } from "./fixtures.ts";
import { assertInsideViewBox, textBoxes } from "./svg-geometry.ts";

function round(r: number, o: Partial<RoundAudit> = {}): RoundAudit {
  return {
    round: r,
    state: "finalized",
    submissions: 4,
    reward: 1000n,
    paid: 999n,
    totalScore: 10n,
    chunkProofs: 4,
    proofsVerified: true,
    inliers: 4,
    outliers: 0,
    excluded: 0,
    slots: [],
    failures: [],
    ...o,
  };
}

function report(o: Partial<AuditReport> = {}): AuditReport {
  return {
    verdict: "pass",
    failures: [],
    warnings: [],
    project: {
      id: 1n,
      market: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      chainId: 31337n,
      owner: trainer(0),
      aggregator: trainer(1),
      verifier: trainer(2),
      status: "Active",
      specCid: "spec",
    },
    rounds: [round(0), round(1)],
    trainers: [
      { trainer: trainer(0), rounds: 2, totalScore: 30n, totalPayout: 1500n },
      { trainer: trainer(1), rounds: 2, totalScore: 10n, totalPayout: 498n },
    ],
    charts: [],
    ...o,
  };
}

const chart = (r: AuditReport, name: string): string => {
  const svg = auditCharts(r).get(name);
  assert.ok(svg !== undefined, name);
  return svg;
};

describe("# auditCharts", () => {
  it("the outliers chart of rounds without outliers says there are none instead of an empty plot", () => {
    const svg = chart(report(), "outliers-per-round.svg");
    assert.match(svg, />no outliers: every update submitted to the 2 finalized round\(s\) was aggregated/);
    assert.equal((svg.match(/<rect [^>]*><title>/g) ?? []).length, 0, "no bars");
    const none = chart(report({ rounds: [round(0, { state: "open", inliers: 0 })] }), "outliers-per-round.svg");
    assert.match(none, />no finalized round yet/);
  });

  it("the outliers chart with outliers draws them", () => {
    const svg = chart(report({ rounds: [round(0, { outliers: 1, inliers: 3 }), round(1)] }), "outliers-per-round.svg");
    assert.ok(!svg.includes("no outliers"));
    assert.equal((svg.match(/<rect [^>]*><title>/g) ?? []).length, 4, "a bar per round and series");
  });

  it("the score and payout share chart says what each share is and why they differ", () => {
    const svg = chart(report(), "score-and-payout-per-trainer.svg");
    // The note under the title, wrapped over a few lines.
    const note = [...svg.matchAll(/<text [^>]*font-size="11"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]).join(" ");
    assert.match(note, /^Score share: proven inlier scores summed over the finalized rounds\. Payout share: what those rounds credited\./);
    assert.match(note, /Each round splits its own reward among its inliers by their score in that round, so the two differ/);
    assertInsideViewBox(svg);
  });

  it("keeps every label of every chart inside its view box, with many trainers and rounds", () => {
    const many = report({
      rounds: Array.from({ length: 24 }, (_, r) => round(r, { outliers: r % 3, excluded: r % 2, accuracy: 0.5 + r / 100 })),
      trainers: Array.from({ length: 20 }, (_, k) => ({
        trainer: `0x${(k + 1).toString(16).padStart(40, "a")}`,
        rounds: 24,
        totalScore: BigInt(100 + k),
        totalPayout: BigInt(1000 + 7 * k),
      })),
      initialModel: { cid: "m0", commitment: "7", matches: true, accuracy: 0.1 },
    });
    for (const [name, svg] of auditCharts(many)) {
      assertInsideViewBox(svg);
      assert.ok(textBoxes(svg).length > 10, name);
    }
  });

  it("the accuracy chart without a validation set says how to get one", () => {
    const svg = chart(report(), "accuracy-per-round.svg");
    assert.match(svg, /no accuracy measured: pass --validation/);
  });
});

describe("# auditMarkdown", () => {
  it("names the trained parameters and, for a frozen backbone, its pinned weights", () => {
    const base = report().project;
    const plain = auditMarkdown(report({ project: { ...base, model: { parameters: 1010 } } }), []);
    assert.ok(plain.split("\n").includes("- model: D = 1010 trained parameters"), plain);
    const frozen = auditMarkdown(
      report({ project: { ...base, model: { parameters: 650, frozen: { cid: "bafk-backbone", parameters: 46080 } } } }),
      [],
    );
    assert.match(frozen, /- model: D = 650 trained parameters; 46080 frozen \(the owner's backbone, weights pinned at `bafk-backbone`/);
  });

  it("explains the score and payout shares in one line above the trainers table, which shows both", () => {
    const md = auditMarkdown(report(), []);
    const lines = md.split("\n");
    const at = lines.indexOf(SHARE_EXPLANATION);
    assert.ok(at > lines.indexOf("## Trainers"), "under the trainers heading");
    assert.ok(!SHARE_EXPLANATION.includes("\n"), "one line");
    assert.match(
      SHARE_EXPLANATION,
      /^Score share: .*; payout share: .*\. They differ because each round pays its own reward to its inliers in proportion/,
    );
    assert.equal(lines[at + 2], "| trainer | rounds | total score | score share | total payout | payout share |");
    assert.ok(lines.includes(`| \`${trainer(0)}\` | 2 | 30 | 75.00 % | 1500 | 75.08 % |`), md);
    assert.ok(lines.includes(`| \`${trainer(1)}\` | 2 | 10 | 25.00 % | 498 | 24.92 % |`), md);
  });
});
