/**
 * Step 4, **compute** (`input.json`, `round.json`): the round's reference computation,
 * @fedmarket/core's `simulateRound` (decryption with the seal secret, the consensus rule, scores,
 * aggregation and every witness input), on the checked previous model, the openings (each
 * slot's `RoundSlot` as open.ts `roundSlotOf` makes it) and the settled reference (reference.ts). `input.json` holds everything the
 * witnesses derive from but the seal secret (quantized previous model and the step committed with
 * it, `keccak` word, `f`) so a
 * restart recomputes exactly the same round; `round.json` holds the result and its digest, which
 * every recomputation must reproduce.
 * Before the first save the result is checked against the chain: the previous model commitment
 * and the contract's own `roundContext` (a wrong chain id or market address shows here, not as a
 * rejected proof).
 */
import { createHash } from "node:crypto";
import { simulateRound, SlotStatus, slotStatusLabel, type CircuitConfig, type RoundReference, type RoundResult } from "@fedmarket/core";
import type { ProjectInfo } from "@fedmarket/protocol";
import { roundKeccak } from "../chain.ts";
import { AggregatorError } from "../errors.ts";
import { bigs, toJson } from "../store.ts";
import type { StepContext } from "./context.ts";
import type { ModelCache } from "./model-cache.ts";
import { roundSlotsOf, type SlotOpening } from "./open.ts";

/** The round's input to the reference computation (`input.json`). */
export interface RoundInputFile {
  readonly config: CircuitConfig;
  readonly f: number;
  readonly keccak: string;
  readonly prevModel: string[];
  /** The step committed with `prevModel` (the last global delta, model-cache.ts), `D` values. */
  readonly prevStep: string[];
  readonly modelCid: string;
}

/** The reference computation's result (`round.json`). */
export interface RoundFile {
  readonly ctx: string;
  readonly chunks: number;
  readonly prevModelCommitment: string;
  readonly newModelCommitment: string;
  readonly newModel: string[];
  readonly commitments: string[];
  /** Per slot: whether its plaintext is used (available, `E` on the curve, every chunk unpacks). */
  readonly decoded: boolean[];
  readonly status: number[];
  readonly scores: string[];
  readonly outcome: string[];
  readonly chunkSignals: [string, string][];
  readonly decisionSignals: string[];
  /** The reference commitment the decision proof opens (0: the round has no reference). */
  readonly reference: string;
  /** `<u_k, v>` per slot (zeros without a reference). */
  readonly alignment: string[];
  /** sha256 of this result (the same on every recomputation). */
  readonly digest: string;
}

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

/** The round's result: computed from `input.json` (written first if missing) and the openings, checked and saved. */
export async function computeRound(
  ctx: StepContext,
  project: ProjectInfo,
  config: CircuitConfig,
  openings: readonly SlotOpening[],
  models: ModelCache,
  reference?: RoundReference,
): Promise<{ input: RoundInputFile; result: RoundResult }> {
  const { files, round: r } = ctx;
  let input = await files.read<RoundInputFile>("input.json");
  if (input === undefined) {
    const keccak = roundKeccak(ctx.config.chainId, ctx.chain.client.address, project.id, r, project.paramsHash);
    const prev = await models.current(ctx, project, config);
    input = {
      config,
      f: project.params.byzantineTolerance,
      keccak: keccak.toString(),
      prevModel: prev.values.map(String),
      prevStep: (prev.step ?? prev.values.map(() => 0n)).map(String),
      modelCid: project.modelCid,
    };
    await files.write("input.json", input);
  }
  if (!Array.isArray(input.prevStep)) {
    // Written before models committed to their step: recomputed without it, the round would not open the chain's commitment.
    throw new AggregatorError("internal", `${files.file("input.json")} has no prevStep; delete the round folder to start it over`);
  }
  const slots = roundSlotsOf(openings);
  const result = simulateRound({
    config: input.config,
    prevModel: bigs(input.prevModel),
    prevStep: bigs(input.prevStep),
    slots,
    f: input.f,
    keccak: BigInt(input.keccak),
    secret: ctx.config.sealSecret,
    ...(reference === undefined ? {} : { reference }),
  });
  const summary: Omit<RoundFile, "digest"> = {
    ctx: result.ctx.toString(),
    chunks: result.chunks,
    prevModelCommitment: result.prevModelCommitment.toString(),
    newModelCommitment: result.newModelCommitment.toString(),
    newModel: result.newModel.map(String),
    commitments: result.commitments.map(String),
    decoded: [...result.decoded],
    status: result.rule.status.map(Number),
    scores: result.rule.scores.map(String),
    outcome: result.outcome.map(String),
    chunkSignals: result.chunkWitnesses.map((w) => [w.publicSignals[0].toString(), w.publicSignals[1].toString()]),
    decisionSignals: result.decision.publicSignals.map(String),
    reference: result.reference.toString(),
    alignment: result.alignment.map(String),
  };
  const digest = sha256(toJson(summary));
  const have = await files.read<RoundFile>("round.json");
  if (have !== undefined) {
    if (have.digest !== digest) {
      throw new AggregatorError(
        "internal",
        `recomputing round ${r} gave a different result than ${files.file("round.json")}; delete the round folder to start it over`,
      );
    }
    return { input, result };
  }
  if (result.prevModelCommitment !== project.modelCommitment)
    throw new AggregatorError("model", "internal: the previous model commitment does not match the chain");
  const onChainCtx = await ctx.chain.roundContext(project.id, r);
  if (onChainCtx !== result.ctx) {
    throw new AggregatorError(
      "ctx",
      `the round context ${result.ctx} differs from the contract's roundContext ${onChainCtx}: wrong chain id or market address?`,
    );
  }
  await files.write("round.json", { ...summary, digest } satisfies RoundFile);
  const slotsText = result.rule.status
    .map((s, k) => `${k}: ${slotStatusLabel(s)}${s === SlotStatus.Inlier ? ` (score ${result.rule.scores[k]})` : ""}`)
    .join(", ");
  ctx.log.log("info", "round.computed", `round ${r}: ${result.chunks} chunk(s); slots ${slotsText}`, {
    round: r,
    chunks: result.chunks,
    status: result.rule.status,
    scores: result.rule.scores,
    newModelCommitment: result.newModelCommitment,
  });
  await ctx.checkpoint("after-compute");
  return { input, result };
}
