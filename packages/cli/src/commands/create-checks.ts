/**
 * The checks `project create` makes before it pins or sends anything, each naming the flag and
 * its allowed range, so that a bad value is a usage error (exit 2) and not a revert the owner has
 * to decode (`InvalidConfig("slashAmount")` for `--bond 0`).
 */
import { multiKrumQuorum } from "@fedmarket/core";
import { UsageError } from "../owner/connect.ts";
import { formatAmount, type AmountUnit } from "../owner/amount.ts";

/** Longest submission or aggregation window the marketplace accepts (365 days). */
export const MAX_WINDOW_SECONDS = 365 * 24 * 3600;

export interface CreateAmounts {
  readonly rewardPerRound: bigint;
  readonly rounds: number;
  /** `--budget`; undefined = reward-per-round x rounds. */
  readonly budget?: bigint | undefined;
  readonly bond: bigint;
  readonly slash: bigint;
  readonly allowUnderfunded: boolean;
  readonly unit: AmountUnit;
}

/** Checks the money flags; returns the warnings to print (an underfunded budget with `--allow-underfunded`). */
export function checkCreateAmounts(a: CreateAmounts): string[] {
  const fmt = (v: bigint): string => formatAmount(v, a.unit);
  if (a.rewardPerRound === 0n)
    throw new UsageError(
      "--reward-per-round must be greater than 0: a round's reward is what its trainers share (e.g. --reward-per-round 0.1)",
    );
  if (a.bond === 0n)
    throw new UsageError(
      `--bond must be greater than 0: the aggregator's bond is what a failed round is slashed from (--slash ${fmt(a.slash)} per failed round)`,
    );
  if (a.slash > a.bond)
    throw new UsageError(`--slash ${fmt(a.slash)} is above --bond ${fmt(a.bond)}: the slash per failed round can be at most the bond`);
  const warnings: string[] = [];
  const needed = a.rewardPerRound * BigInt(a.rounds);
  if (a.budget !== undefined && a.budget < needed) {
    const paid = a.budget / a.rewardPerRound;
    const what =
      `--budget ${fmt(a.budget)} is below --reward-per-round x --rounds = ${fmt(needed)}: ` +
      `it pays ${paid} of the ${a.rounds} round(s) in full, the later ones get what is left or nothing`;
    if (!a.allowUnderfunded)
      throw new UsageError(
        `${what}; raise --budget (or leave it out), lower --rounds, or pass --allow-underfunded and add the rest later with \`fedmarket project fund\``,
      );
    warnings.push(`warning: ${what} (--allow-underfunded); add the rest with \`fedmarket project fund\``);
  }
  return warnings;
}

/**
 * Checks `--max-trainers` and `--byzantine-tolerance` against the verifier's `maxTrainers()`
 * (K_MAX): a round needs Multi-Krum's quorum (`multiKrumQuorum(f)` = 2f + 3) of slots, and has at
 * most K_MAX.
 */
export function checkTrainerSlots(o: {
  readonly maxTrainers?: number | undefined;
  readonly byzantineTolerance?: number | undefined;
  readonly kMax: number;
  readonly verifier: string;
}): void {
  const f = o.byzantineTolerance ?? 0;
  const quorum = multiKrumQuorum(f);
  const minimum = multiKrumQuorum(0);
  if (o.kMax < minimum)
    throw new UsageError(`--verifier ${o.verifier} allows only ${o.kMax} trainer slots; a round needs at least ${minimum}`);
  if (quorum > o.kMax) {
    let fMax = 0;
    while (multiKrumQuorum(fMax + 1) <= o.kMax) fMax++;
    throw new UsageError(
      `--byzantine-tolerance ${f} needs a quorum of ${quorum} trainer slots, but the verifier allows at most ${o.kMax} (K_MAX): allowed range 0..${fMax}`,
    );
  }
  if (o.maxTrainers !== undefined && (o.maxTrainers < quorum || o.maxTrainers > o.kMax))
    throw new UsageError(
      `--max-trainers ${o.maxTrainers} is out of range: allowed ${quorum}..${o.kMax} ` +
        `(at least the quorum ${quorum} for --byzantine-tolerance ${f}, at most the verifier's K_MAX ${o.kMax})`,
    );
}

/** Checks that the spec's circuit section matches the verifier (`K_MAX`, `CHUNK`). */
export function checkSpecAgainstVerifier(
  spec: { readonly circuit?: { readonly kMax: number; readonly chunk: number } | undefined },
  verifier: { readonly address: string; readonly maxTrainers: number; readonly chunkSize: number },
  specFile: string,
): void {
  if (spec.circuit === undefined)
    throw new UsageError(
      `--spec ${specFile} has no "circuit" section (kMax, chunk, updateBits, modelBits): trainers and the aggregator need it`,
    );
  if (spec.circuit.kMax !== verifier.maxTrainers || spec.circuit.chunk !== verifier.chunkSize)
    throw new UsageError(
      `--verifier ${verifier.address} is compiled for kMax ${verifier.maxTrainers} / chunk ${verifier.chunkSize}, ` +
        `but --spec ${specFile} says kMax ${spec.circuit.kMax} / chunk ${spec.circuit.chunk}: pass the verifier of the spec's circuit`,
    );
}
