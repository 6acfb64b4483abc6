/**
 * The global model a round starts from, in quantized units, and the step committed with it (the
 * last global delta, core `modelCommitment`), checked together against the model commitment on
 * chain. The compute step needs both: the round's proofs open the commitment to the model and its
 * step. The step is the model minus the one it replaced (protocol `committedModelStep`, from the
 * project's history), so checking a new model takes that older one too. The cache keeps the last
 * two models checked, by commitment: a node running round after round downloads each model once,
 * since the model a new round replaced is the one the node's previous round started from.
 */
import { modelCommitment, type CircuitConfig } from "@fedmarket/core";
import { committedModelStep, decodeWeights, ModelStepError, quantizeModel, type ProjectInfo } from "@fedmarket/protocol";
import { AggregatorError } from "../errors.ts";
import { fetchBlob, type BlobSource, type StepContext } from "./context.ts";

/** A global model checked against its commitment on chain. */
export interface CheckedModel {
  readonly commitment: bigint;
  /** The model, quantized (`round(w * scale)`, `BG` bits). */
  readonly values: bigint[];
  /** The step committed with it (`B`-bit values); `undefined`: zeros (an initial model, or the model never changed). */
  readonly step: bigint[] | undefined;
}

/** How many checked models the cache keeps: the current one and the one it replaced. */
const KEPT = 2;

export class ModelCache {
  /** The last models checked, oldest first. */
  #models: CheckedModel[] = [];

  /**
   * The model round `ctx.round` opened on (the project's current one) and its step. On a miss the
   * step is derived from the project's history, the model it replaced taken from the cache when it
   * is there, else downloaded.
   */
  async current(ctx: StepContext, project: ProjectInfo, config: CircuitConfig): Promise<CheckedModel> {
    const cached = this.#find(project.modelCommitment);
    if (cached !== undefined) return cached;
    const values = await downloadModel(ctx, project, config, project.modelCid, "global model");
    const history = await ctx.chain.history(project.id);
    let step: bigint[] | undefined;
    try {
      step = await committedModelStep(
        history,
        ctx.round,
        values,
        async (opened) =>
          this.#find(opened.modelCommitment)?.values ??
          downloadModel(ctx, project, config, opened.modelCid, `global model of round ${opened.round}`),
      );
    } catch (err) {
      if (!(err instanceof ModelStepError)) throw err;
      throw new AggregatorError("model", `${err.message}; cannot prove round ${ctx.round} until then`, { cause: err });
    }
    return this.#keep(checked(project, values, step, config));
  }

  /**
   * The initial model of a project no round has opened on yet (`accept` checks its headroom): no
   * round produced it, so its step is zero.
   */
  async initial(ctx: BlobSource, project: ProjectInfo, config: CircuitConfig): Promise<CheckedModel> {
    const values = await downloadModel(ctx, project, config, project.modelCid, "initial model");
    return this.#keep(checked(project, values, undefined, config));
  }

  #find(commitment: bigint): CheckedModel | undefined {
    return this.#models.find((m) => m.commitment === commitment);
  }

  #keep(model: CheckedModel): CheckedModel {
    this.#models = [...this.#models, model].slice(-KEPT);
    return model;
  }
}

/** The model pinned at `cid`, quantized with the project's scale. */
async function downloadModel(ctx: BlobSource, project: ProjectInfo, config: CircuitConfig, cid: string, what: string): Promise<bigint[]> {
  const weights = decodeWeights(await fetchBlob(ctx, cid, what), project.params.modelSize);
  return quantizeModel(weights, Number(project.params.quantizationScale), config.modelBits);
}

/** The project's current model with `step`, once they make its commitment on chain. */
function checked(project: ProjectInfo, values: bigint[], step: bigint[] | undefined, config: CircuitConfig): CheckedModel {
  if (modelCommitment(values, step, config) !== project.modelCommitment) {
    throw new AggregatorError(
      "model",
      `the global model ${project.modelCid} with its step (${step === undefined ? "zero" : "the model minus the one it replaced"}) ` +
        "does not match the model commitment on chain: cannot prove this round",
    );
  }
  return { commitment: project.modelCommitment, values, step };
}
