#!/usr/bin/env node
/**
 * Renders the comparison tables of docs/SCORING.md from a fairness-candidates JSON that
 * `npm run bench:fairness` wrote, so that every number in the doc comes from a file a command
 * wrote, and none is copied by hand:
 *
 *   node packages/testkit/src/bench/fairness/report.ts bench/fairness-candidates.json [--rules a,b,c] [--against <file>[:rule]]
 *
 * Prints Markdown: fairness and false positives, the gain of each attack (max over the seeds),
 * Spearman differences paired by seed (against the first rule, or `--against` another run's rule),
 * attacker slot-rounds aggregated, today's six attacks, final accuracy, and (where the run computed
 * Shapley under attack) each attack's gain next to its value factor.
 */
import { readFileSync } from "node:fs";
import { benchArgs } from "../args.ts";
import { mean, standardError } from "./stats.ts";

interface Attack {
  readonly name: string;
  readonly gainFactor: number | null;
  readonly inlierRounds: number;
  readonly detectionRate: number;
  readonly payoutShare: number;
  readonly accuracyDropPoints: number | null;
  readonly accuracyDropVsAttackersAbsentPoints: number | null;
  /** Absent in files written before `--attack-shapley`. */
  readonly valueFactor?: number | null;
}

interface Seed {
  readonly seed: number;
  readonly spearmanCumulative: number | null;
  readonly spearmanCumulativeLoss: number | null;
  readonly pearsonCumulative: number | null;
  readonly honestFalsePositiveRate: number;
  /** Absent from files written before the twenty-second round. */
  readonly honestLeftOutValuedRate?: number;
  readonly allHonestFinalAccuracy: number | null;
  readonly attacks: readonly Attack[];
}

interface Rule {
  readonly rule: string;
  readonly seeds: readonly Seed[];
  readonly onCurrentTrajectory?: { readonly meanSpearman: number };
}

interface Candidates {
  readonly command: string;
  readonly wallSeconds: number;
  readonly rules: readonly Rule[];
}

const LEGACY = ["sign-flip", "scale", "gaussian", "label-flip", "free-rider", "duplicate"];

// --against <file>[:rule]: a rule (default: the name of this report's first) of another run on the same seeds, to pair with
// (e.g. the same rule under another reference, a flag of the run rather than a rule).
const { values, positionals } = benchArgs(import.meta.url, { rules: { type: "string" }, against: { type: "string" } }, true);
const file = positionals[0];
if (file === undefined) {
  process.stderr.write("usage: report.ts <fairness-candidates.json> [--rules a,b,c] [--against <other.json>[:rule]]\n");
  process.exit(2);
}
const data = JSON.parse(readFileSync(file, "utf8")) as Candidates;
const wanted = values.rules?.split(",");
const rules =
  wanted === undefined
    ? data.rules
    : wanted.map((n) =>
        must(
          data.rules.find((r) => r.rule === n),
          `no rule ${n} in ${file}`,
        ),
      );
const seeds = (rules[0] as Rule).seeds.map((s) => s.seed);
const scenarios = (rules[0] as Rule).seeds[0]?.attacks.map((a) => a.name) ?? [];

/** With `--against`: that run's rule, then every rule of this report, each paired with it. */
function againstRule(): [Rule, ...Rule[]] | undefined {
  if (values.against === undefined) return undefined;
  const [other, name] = values.against.split(":") as [string, string | undefined];
  const them = JSON.parse(readFileSync(other, "utf8")) as Candidates;
  const wantedName = name ?? (rules[0] as Rule).rule;
  const rule = must(
    them.rules.find((r) => r.rule === wantedName),
    `no rule ${wantedName} in ${other}`,
  );
  return [{ ...rule, rule: `${rule.rule}\` of \`${other}` }, ...rules];
}

function must<T>(x: T | undefined, message: string): T {
  if (x === undefined) throw new Error(message);
  return x;
}
const f2 = (x: number | null | undefined): string => (x === null || x === undefined ? "-" : x.toFixed(2));
const f3 = (x: number): string => x.toFixed(3);
const attack = (s: Seed, name: string): Attack =>
  must(
    s.attacks.find((a) => a.name === name),
    `no scenario ${name}`,
  );
const header = (first: string): string =>
  `| ${first} | ${rules.map((r) => `\`${r.rule}\``).join(" | ")} |\n| --- | ${rules.map(() => "---").join(" | ")} |`;

const out: string[] = [];
out.push(`Source: \`${file}\` (\`${data.command}\`, ${data.wallSeconds} s). Seeds ${seeds.join(", ")}.`, "");

out.push("Fairness and false positives (all-honest run):", "");
out.push(
  "| rule | Spearman (acc) per seed | mean (± standard error over the seeds) | Spearman (loss) mean | Pearson mean | same updates: mean Spearman | honest FPR per seed | of which worth > 0 | all-honest accuracy |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
);
for (const r of rules) {
  const sp = r.seeds.map((s) => s.spearmanCumulative ?? -1);
  out.push(
    `| \`${r.rule}\` | ${sp.map(f2).join(" / ")} | **${f2(mean(sp))}** ± ${f2(standardError(sp))} | ${f2(mean(r.seeds.map((s) => s.spearmanCumulativeLoss ?? -1)))} | ${f2(mean(r.seeds.map((s) => s.pearsonCumulative ?? -1)))} | ${r.onCurrentTrajectory === undefined ? "(itself)" : f2(r.onCurrentTrajectory.meanSpearman)} | ${r.seeds.map((s) => f3(s.honestFalsePositiveRate)).join(" / ")} | ${r.seeds.map((s) => (s.honestLeftOutValuedRate === undefined ? "-" : f3(s.honestLeftOutValuedRate))).join(" / ")} | ${r.seeds.map((s) => f3(s.allHonestFinalAccuracy ?? 0)).join(" / ")} |`,
  );
}
// Rules measured on the same seeds differ by less than either mean's spread suggests when their
// per-seed values move together: the paired differences say whether a rule's gain is more than noise.
const [first, ...others] = againstRule() ?? (rules as [Rule, ...Rule[]]);
const paired = others.filter((r) => r.seeds.length === first.seeds.length && r.seeds.every((s, i) => s.seed === first.seeds[i]?.seed));
if (paired.length > 0) {
  out.push("", `Spearman (acc) against \`${first.rule}\`, paired by seed (mean ± standard error of the differences):`, "");
  for (const r of paired) {
    const d = r.seeds.map((s, i) => (s.spearmanCumulative ?? -1) - ((first.seeds[i] as Seed).spearmanCumulative ?? -1));
    out.push(`- \`${r.rule}\`: ${d.map(f2).join(" / ")}, **${f2(mean(d))}** ± ${f2(standardError(d))}`);
  }
}

/** One table: a row per scenario, a column per rule. */
function table(title: string, names: readonly string[], cell: (rows: readonly Attack[]) => string): void {
  out.push("", title, "", header("scenario"));
  for (const name of names) out.push(`| ${name} | ${rules.map((r) => cell(r.seeds.map((s) => attack(s, name)))).join(" | ")} |`);
}
const worst = (xs: readonly (number | null)[]): string => f2(Math.max(...xs.map((x) => x ?? Number.NEGATIVE_INFINITY)));

table(
  "Gain of each attack, max over the seeds (goal <= 1.0; lazy and replay < 1.0; `∞`: paid while the honest counterpart earns nothing):",
  scenarios,
  (rows) => (rows.some((a) => a.gainFactor === null) ? "∞" : f2(Math.max(...rows.map((a) => a.gainFactor as number)))),
);
table(`Attacker slot-rounds aggregated (\`inlierRounds\`, seeds ${seeds.join(" / ")}):`, scenarios, (rows) =>
  rows.map((a) => a.inlierRounds).join(" / "),
);
table(
  "Today's six attacks: detection (lowest seed) / attackers' payout share (highest seed) (goal >= 0.95 / <= 0.02):",
  LEGACY.filter((n) => scenarios.includes(n)),
  (rows) => `${f2(Math.min(...rows.map((a) => a.detectionRate)))} / ${f3(Math.max(...rows.map((a) => a.payoutShare)))}`,
);
table(
  "Final accuracy, worst seed, points lost against the all-honest run of the same rule (Sybil: against its baseline) / against `attackers-absent`:",
  scenarios,
  (rows) => `${worst(rows.map((a) => a.accuracyDropPoints))} / ${worst(rows.map((a) => a.accuracyDropVsAttackersAbsentPoints))}`,
);
const valued = scenarios.filter((n) => rules.some((r) => r.seeds.some((s) => (attack(s, n).valueFactor ?? null) !== null)));
if (valued.length > 0)
  table(
    `Gain / value factor per seed (${seeds.join(" / ")}): pay under attack against honest, next to the exact Shapley value added under attack against honest (\`-\`: not positive honestly):`,
    valued,
    (rows) => rows.map((a) => `${a.gainFactor === null ? "∞" : f2(a.gainFactor)} / ${f2(a.valueFactor)}`).join(", "),
  );
process.stdout.write(`${out.join("\n")}\n`);
