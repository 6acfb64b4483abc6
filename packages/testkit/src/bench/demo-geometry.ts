#!/usr/bin/env node
/**
 * The geometry of the demo's rounds: why the proven consensus rule leaves an honest trainer out and
 * pays the free rider most (docs/SCORING.md, "Fifth round: the demo's rounds").
 *
 *   npm run demo -- --work-dir /tmp/demo --json --out /tmp/demo.json
 *   node packages/testkit/src/bench/demo-geometry.ts --work-dir /tmp/demo --demo-json /tmp/demo.json [--json out.json]
 *
 * Reads what the aggregator node kept (`<work-dir>/aggregator/p<project>/r<round>/`: the decoded
 * updates in `openings.json`, the previous model in `input.json`) and the trainers' roles from the
 * demo's JSON, and prints per round and slot:
 * - `cosHonest`: the cosine of the slot's update with the sum of the *other honest* slots' updates
 *   (what the consensus test would see with the attackers absent);
 * - `cosDelta`: its cosine with the last global delta (`prevModel - modelBeforeIt`, 0 in round 0);
 * - the proven rule's status and score (`consensusDecision` on the Gram matrix, as the round proof),
 *   and the same rule on the parts orthogonal to the last global delta
 *   (`G'_ij = |Delta|^2 G_ij - <u_i, Delta><u_j, Delta>`, a candidate for stage 2: it needs
 *   `<u_k, Delta>` and `|Delta|^2` from the chunk proofs).
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { consensusDecision, cosineSimilarity, globalDelta, gramMatrix, slotStatusName } from "@fedmarket/core";
import type { OpeningsFile, RoundInputFile } from "@fedmarket/aggregator";

const USAGE =
  "usage: node packages/testkit/src/bench/demo-geometry.ts --work-dir <demo --work-dir> --demo-json <demo --json file> [--project 1] [--json <out>]";

/** What the demo's JSON says of each trainer (bench/demo.json `trainerList`). */
interface DemoTrainer {
  readonly trainer: string;
  readonly address: string;
  readonly role: string;
}

interface SlotGeometry {
  readonly slot: number;
  readonly trainer: string;
  readonly role: string;
  readonly norm: number;
  readonly cosHonest: number;
  readonly cosDelta: number;
  readonly status: string;
  readonly score: string;
  readonly orthogonalStatus: string;
  readonly orthogonalScore: string;
}

interface RoundGeometry {
  readonly round: number;
  readonly deltaNorm: number;
  readonly slots: readonly SlotGeometry[];
}

const { values } = parseArgs({
  options: {
    "work-dir": { type: "string" },
    "demo-json": { type: "string" },
    project: { type: "string", default: "1" },
    json: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help === true) {
  console.log(USAGE);
  process.exit(0);
}
const workDir = values["work-dir"];
const demoJson = values["demo-json"];
if (workDir === undefined || demoJson === undefined) {
  console.error(`${USAGE}\n(both --work-dir and --demo-json are required: run the demo with --work-dir and --json first)`);
  process.exit(2);
}

const readJson = async <T>(file: string): Promise<T> => JSON.parse(await readFile(file, "utf8")) as T;
const trainers = (await readJson<{ trainerList: DemoTrainer[] }>(demoJson)).trainerList;
const roleOf = (address: string): DemoTrainer | undefined => trainers.find((t) => t.address.toLowerCase() === address.toLowerCase());
const projectDir = path.join(workDir, "aggregator", `p${values.project}`);

const rounds: RoundGeometry[] = [];
let modelBefore: bigint[] | null = null;
for (let round = 0; ; round++) {
  const dir = path.join(projectDir, `r${round}`);
  let input: RoundInputFile, openings: OpeningsFile;
  try {
    [input, openings] = await Promise.all([
      readJson<RoundInputFile>(path.join(dir, "input.json")),
      readJson<OpeningsFile>(path.join(dir, "openings.json")),
    ]);
  } catch {
    break; // no further round was computed
  }
  const prevModel = input.prevModel.map(BigInt);
  const slots = openings.openings;
  const size = slots.find((o) => o.status === "opened")?.update.length ?? 0;
  // Undecoded and unavailable slots enter as zeros, as they do in the round proof's Gram matrix.
  const updates = slots.map((o) => (o.status === "opened" ? o.update.map(BigInt) : new Array<bigint>(size).fill(0n)));
  const delta = modelBefore === null ? new Array<bigint>(size).fill(0n) : globalDelta(prevModel, modelBefore).slice(0, size);
  modelBefore = prevModel;
  const gram = gramMatrix(updates);
  const along = updates.map((u) => u.reduce((s, x, i) => s + x * (delta[i] as bigint), 0n));
  const delta2 = delta.reduce((s, x) => s + x * x, 0n);
  const orthogonal = gram.map((row, i) =>
    row.map((g, j) => (delta2 === 0n ? g : delta2 * g - (along[i] as bigint) * (along[j] as bigint))),
  );
  const input0 = {
    commitments: slots.map((o) => BigInt(o.commitment)),
    excluded: slots.map((o) => o.status !== "opened"),
    f: input.f,
  };
  const raw = consensusDecision({ ...input0, gram });
  const orth = consensusDecision({ ...input0, gram: orthogonal });
  const honest = slots.map((o) => roleOf(o.trainer)?.role === "honest");
  rounds.push({
    round,
    deltaNorm: Math.sqrt(Number(delta2)),
    slots: slots.map((o, k) => {
      const others = new Array<bigint>(size).fill(0n);
      updates.forEach((u, j) => {
        if (j !== k && honest[j] === true) u.forEach((x, i) => (others[i] = (others[i] as bigint) + x));
      });
      return {
        slot: k,
        trainer: roleOf(o.trainer)?.trainer ?? o.trainer,
        role: roleOf(o.trainer)?.role ?? "unknown",
        norm: Math.sqrt(Number(gram[k]?.[k] ?? 0n)),
        cosHonest: cosineSimilarity(updates[k] as bigint[], others),
        cosDelta: cosineSimilarity(updates[k] as bigint[], delta),
        status: slotStatusName(raw.status[k] ?? 0),
        score: String(raw.scores[k] ?? 0n),
        orthogonalStatus: slotStatusName(orth.status[k] ?? 0),
        orthogonalScore: String(orth.scores[k] ?? 0n),
      };
    }),
  });
}
if (rounds.length === 0) {
  console.error(`no round found under ${projectDir}: run the demo with --work-dir ${workDir} first`);
  process.exit(2);
}

const fmt = (x: number): string => (x >= 0 ? " " : "") + x.toFixed(2);
for (const r of rounds) {
  console.log(`round ${r.round}: |last global delta| = ${r.deltaNorm.toFixed(0)}`);
  console.log("  slot trainer    role        norm  cosHonest cosDelta  status (score)                 orthogonal: status (score)");
  for (const s of r.slots) {
    console.log(
      `  ${String(s.slot).padStart(4)} ${s.trainer.padEnd(10)} ${s.role.padEnd(10)} ${s.norm.toFixed(0).padStart(5)}  ${fmt(s.cosHonest).padStart(8)} ${fmt(s.cosDelta).padStart(8)}  ${`${s.status} (${s.score})`.padEnd(30)} ${s.orthogonalStatus} (${s.orthogonalScore})`,
    );
  }
}
if (values.json !== undefined) {
  await writeFile(
    values.json,
    `${JSON.stringify({ command: `node packages/testkit/src/bench/demo-geometry.ts ${process.argv.slice(2).join(" ")}`, rounds }, null, 2)}\n`,
  );
  console.log(`wrote ${values.json}`);
}
