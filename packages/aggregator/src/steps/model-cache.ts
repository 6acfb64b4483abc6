/**
 * The global model a round starts from, in quantized units, checked against the model commitment
 * on chain. The compute step needs it; the cache fetches and checks it once per model commitment,
 * so a node running round after round downloads each model once.
 */
import { modelCommitment, type CircuitConfig } from "@fedmarket/core";
import { decodeWeights, quantizeModel, type ProjectInfo } from "@fedmarket/protocol";
import { AggregatorError } from "../errors.ts";
import { fetchBlob, type BlobSource } from "./context.ts";

export class ModelCache {
  #model: { readonly commitment: bigint; readonly values: bigint[] } | undefined;

  /** The project's current global model, quantized (`round(w * scale)`, `BG` bits) and checked against its commitment. */
  async current(ctx: BlobSource, project: ProjectInfo, config: CircuitConfig): Promise<bigint[]> {
    if (this.#model?.commitment === project.modelCommitment) return this.#model.values;
    const weights = decodeWeights(await fetchBlob(ctx, project.modelCid, "global model"), project.params.modelSize);
    const scale = Number(project.params.quantizationScale);
    const q = quantizeModel(weights, scale, config.modelBits);
    if (modelCommitment(q, config.chunk, config.modelBits) !== project.modelCommitment) {
      throw new AggregatorError(
        "model",
        `the global model ${project.modelCid} does not match the model commitment on chain: cannot prove this round`,
      );
    }
    this.#model = { commitment: project.modelCommitment, values: q };
    return q;
  }
}
