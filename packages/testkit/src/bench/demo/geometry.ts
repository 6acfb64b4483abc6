/**
 * The geometry of a finished project's rounds, from what the aggregator node kept
 * (`<project dir>/r<round>/`: the decoded updates in `openings.json`, the previous model in
 * `input.json`): per round and slot, the cosine with the sum of the other honest slots' updates, the
 * cosine with the last global delta, the proven decision and the same decision on the parts
 * orthogonal to the last global delta (docs/SCORING.md, "Fifth round"). The CLI is
 * `demo-geometry.ts` next to this folder.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  consensusDecision,
  cosineSimilarity,
  globalDelta,
  gramMatrix,
  innerProduct,
  slotStatusName,
  type SlotStatusName,
} from "@fedmarket/core";
import type { OpeningsFile, RoundInputFile } from "@fedmarket/aggregator";

/** What the demo's JSON says of each trainer (bench/demo.json `trainerList`). */
export interface DemoTrainer {
  readonly trainer: string;
  readonly address: string;
  readonly role: string;
}

export interface SlotGeometry {
  readonly slot: number;
  readonly trainer: string;
  readonly role: string;
  readonly norm: number;
  /** Cosine with the sum of the other honest slots' updates (the consensus test with the attackers absent). */
  readonly cosHonest: number;
  /** Cosine with the last global delta (0 in round 0). */
  readonly cosDelta: number;
  /** The proven rule's status and score (`consensusDecision` on the Gram matrix, as the round proof). */
  readonly status: SlotStatusName;
  readonly score: string;
  /** The same rule on `G'_ij = |Delta|^2 G_ij - <u_i, Delta><u_j, Delta>`. */
  readonly orthogonalStatus: SlotStatusName;
  readonly orthogonalScore: string;
}

export interface RoundGeometry {
  readonly round: number;
  readonly deltaNorm: number;
  readonly slots: readonly SlotGeometry[];
}

const readJson = async <T>(file: string): Promise<T> => JSON.parse(await readFile(file, "utf8")) as T;

/** Every round found under `projectDir` (`r0`, `r1`, ... until the first missing one). */
export async function projectGeometry(projectDir: string, trainers: readonly DemoTrainer[]): Promise<RoundGeometry[]> {
  const roleOf = (address: string): DemoTrainer | undefined => trainers.find((t) => t.address.toLowerCase() === address.toLowerCase());
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
    const along = updates.map((u) => innerProduct(u, delta));
    const delta2 = innerProduct(delta, delta);
    const orthogonal = gram.map((row, i) =>
      row.map((g, j) => (delta2 === 0n ? g : delta2 * g - (along[i] as bigint) * (along[j] as bigint))),
    );
    const shared = {
      commitments: slots.map((o) => BigInt(o.commitment)),
      excluded: slots.map((o) => o.status !== "opened"),
      f: input.f,
    };
    const raw = consensusDecision({ ...shared, gram });
    const orth = consensusDecision({ ...shared, gram: orthogonal });
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
  return rounds;
}
