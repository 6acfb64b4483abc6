/**
 * The checks `project create` makes before it pins or sends anything, each naming the flag and
 * its allowed range, so that a bad value is a usage error (exit 2) and not a revert the owner has
 * to decode (`InvalidConfig("slashAmount")` for `--bond 0`).
 */
import { REWARD_DECAY_ONE, consensusQuorum, roundRewardSchedule } from "@fedmarket/core";
import { UsageError } from "../owner/connect.ts";
import { formatAmount, type AmountUnit } from "../owner/amount.ts";

/** Longest submission or aggregation window the marketplace accepts (365 days). */
export const MAX_WINDOW_SECONDS = 365 * 24 * 3600;

/**
 * `--reward-decay`: each round's reward over the previous one's, a decimal in (0, 1] with at most
 * six decimals, as the contract's `rewardDecayPpm` (millionths).
 */
export function parseRewardDecay(text: string): number {
  // "" matches with neither part and reads as 0, refused below with the rest; "." does not match.
  const m = /^(0|1)?(?:\.(\d{1,6}))?$/.exec(text.trim());
  const ppm = m === null ? NaN : Number(m[1] ?? "0") * REWARD_DECAY_ONE + Number((m[2] ?? "").padEnd(6, "0"));
  if (!Number.isInteger(ppm) || ppm < 1 || ppm > REWARD_DECAY_ONE)
    throw new UsageError(
      `--reward-decay ${text} is out of range: each round's reward over the previous one's, a decimal above 0 and at most 1 ` +
        "with at most six decimals (1: equal rounds; 0.5: each round pays half the one before)",
    );
  return ppm;
}

export interface CreateAmounts {
  /** The first round's reward. */
  readonly rewardPerRound: bigint;
  /** `--reward-decay` in millionths (default 1,000,000: equal rounds). */
  readonly rewardDecayPpm?: number | undefined;
  readonly rounds: number;
  /** `--budget`; undefined = what the rounds reserve. */
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
  const decayed = a.rewardDecayPpm !== undefined && a.rewardDecayPpm !== REWARD_DECAY_ONE;
  const schedule = roundRewardSchedule(a.rewardPerRound, a.rewardDecayPpm ?? REWARD_DECAY_ONE, a.rounds);
  const needed = schedule.reduce((x, y) => x + y, 0n);
  if (a.budget !== undefined && a.budget < needed) {
    let paid = 0;
    for (let left = a.budget; paid < schedule.length && left >= (schedule[paid] ?? 0n); paid++) left -= schedule[paid] ?? 0n;
    const rule = decayed ? "the rounds' rewards (--reward-per-round, times --reward-decay each round)" : "--reward-per-round x --rounds";
    const what =
      `--budget ${fmt(a.budget)} is below ${rule} = ${fmt(needed)}: ` +
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
 * (K_MAX): a project needs the consensus rule's quorum (`consensusQuorum(f)` = 2f + 3) of
 * slots, so that the rule can count anyone without the owner's reference, and has at most K_MAX.
 */
export function checkTrainerSlots(o: {
  readonly maxTrainers?: number | undefined;
  readonly byzantineTolerance?: number | undefined;
  readonly kMax: number;
  readonly verifier: string;
}): void {
  const f = o.byzantineTolerance ?? 0;
  const quorum = consensusQuorum(f);
  const minimum = consensusQuorum(0);
  if (o.kMax < minimum)
    throw new UsageError(`--verifier ${o.verifier} allows only ${o.kMax} trainer slots; a round needs at least ${minimum}`);
  if (quorum > o.kMax) {
    let fMax = 0;
    while (consensusQuorum(fMax + 1) <= o.kMax) fMax++;
    throw new UsageError(
      `--byzantine-tolerance ${f} needs ${quorum} trainer slots (2f + 3, the consensus rule's quorum), but the verifier allows at most ${o.kMax} (K_MAX): allowed range 0..${fMax}`,
    );
  }
  if (o.maxTrainers !== undefined && (o.maxTrainers < quorum || o.maxTrainers > o.kMax))
    throw new UsageError(
      `--max-trainers ${o.maxTrainers} is out of range: allowed ${quorum}..${o.kMax} ` +
        `(at least 2f + 3 = ${quorum} for --byzantine-tolerance ${f}, at most the verifier's K_MAX ${o.kMax})`,
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

// -------------------------------------------------------------------------------------------------
// The aggregation window against the proofs a round needs
// -------------------------------------------------------------------------------------------------

/**
 * Lower bounds of one proof's time on ONE core, from the measured single-thread times in
 * bench/circuit.json (`witnessMs` + `proveMs1`, snarkjs on a 2-core AMD EPYC): a chunk proof takes
 * 1.2 s at K 4 x CHUNK 16, 2.1 s at 8 x 32, 2.7 s at 8 x 64, 3.1 s at 8 x 128 and ~9.7 s projected
 * at 8 x 512 (`projection`), every one of them at least `CHUNK_PROOF_BASE_MS` +
 * `CHUNK_PROOF_MS_PER_SLOT_PARAMETER` x K x CHUNK; a decision proof 0.84 s at K 4 and 1.4 s at
 * K 8, at least `DECISION_PROOF_MS`. Lower bounds, so that a window the estimate calls too short
 * is too short for certain on one core; an aggregator with more cores proves in parallel.
 */
export const CHUNK_PROOF_BASE_MS = 1_000;
/** See `CHUNK_PROOF_BASE_MS`: per trainer slot and chunk parameter (K x CHUNK). */
export const CHUNK_PROOF_MS_PER_SLOT_PARAMETER = 2;
/** See `CHUNK_PROOF_BASE_MS`. */
export const DECISION_PROOF_MS = 800;

/** A round's proofs for a model of `parameters` (D) on a circuit configuration, and their proving time on one core (lower bound). */
export interface RoundProofEstimate {
  readonly parameters: number;
  /** ceil(D / CHUNK): one chunk proof per CHUNK parameters (every trainer slot's values in it). */
  readonly chunkProofs: number;
  readonly chunkProofMs: number;
  /** chunk proofs x chunk proof + the decision proof, one core, ms. */
  readonly provingMs: number;
}

export function roundProofEstimate(parameters: number, circuit: { readonly kMax: number; readonly chunk: number }): RoundProofEstimate {
  const chunkProofs = Math.max(1, Math.ceil(parameters / circuit.chunk));
  const chunkProofMs = CHUNK_PROOF_BASE_MS + CHUNK_PROOF_MS_PER_SLOT_PARAMETER * circuit.kMax * circuit.chunk;
  return { parameters, chunkProofs, chunkProofMs, provingMs: chunkProofs * chunkProofMs + DECISION_PROOF_MS };
}

/** `project create` refused a setting that is valid but cannot work (exit 1, unlike a usage error); the message names the flag. */
export class CreateRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CreateRefusedError";
  }
}

/**
 * What `project create` says about a round's proofs (D, chunk proofs, proving time), and its
 * refusal (`CreateRefusedError`) of an aggregation window shorter than their proving time on one
 * core (`roundProofEstimate`), unless `allowShort` (`--allow-short-aggregation-window`; then the
 * returned warning). The aggregator would be slashed for every round it cannot finish in time.
 */
export function checkAggregationWindow(o: {
  readonly parameters: number;
  readonly circuit: { readonly kMax: number; readonly chunk: number };
  readonly aggregationWindow: number;
  readonly allowShort: boolean;
}): { readonly summary: string; readonly warning?: string } {
  const e = roundProofEstimate(o.parameters, o.circuit);
  const needed = Math.ceil(e.provingMs / 1000);
  const summary =
    `model: D = ${o.parameters} trainable parameters; circuit K_MAX ${o.circuit.kMax}, CHUNK ${o.circuit.chunk}: ` +
    `${e.chunkProofs} chunk proof(s) + 1 decision proof per round, at least ~${needed} s of proving on one core; ` +
    `aggregation window ${o.aggregationWindow} s`;
  if (o.aggregationWindow >= needed) return { summary };
  const what =
    `--aggregation-window ${o.aggregationWindow} s is shorter than the proving alone: ${e.chunkProofs} chunk proof(s) ` +
    `(D = ${o.parameters} / CHUNK ${o.circuit.chunk}, rounded up) + 1 decision proof take at least ~${needed} s on one core ` +
    `(>= ${(e.chunkProofMs / 1000).toFixed(1)} s per chunk proof at K_MAX ${o.circuit.kMax} x CHUNK ${o.circuit.chunk}, bench/circuit.json), ` +
    "and an aggregator that misses the window is slashed";
  if (!o.allowShort)
    throw new CreateRefusedError(
      `${what}. Raise --aggregation-window to at least ${needed} (more leaves time to collect the updates and send the proofs), ` +
        "or pass --allow-short-aggregation-window if the aggregator proves on enough cores",
    );
  return { summary, warning: `warning: ${what} (--allow-short-aggregation-window)` };
}
