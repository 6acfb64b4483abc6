/**
 * Step 6, **pin** (`model.json`): the new global model as a float32 weights file (`g' / scale`),
 * checked to quantize back, with the round's step, to the proven model commitment before it is stored (what trainers
 * download must be what the proof recorded), then put in the blob store. The bytes are a function
 * of the round's result, so a restart pins the same CID again; `model.json` records it once.
 */
import type { CircuitConfig, RoundResult } from "@fedmarket/core";
import { dequantizeModel, encodeWeights, globalModelCommitment, type ProjectInfo } from "@fedmarket/protocol";
import { AggregatorError } from "../errors.ts";
import type { StepContext } from "./context.ts";

/** `model.json`. */
export interface ModelFile {
  readonly cid: string;
  readonly bytes: number;
  readonly newModelCommitment: string;
}

/** Pins the round's new model and returns its CID (the one `model.json` records). */
export async function pinNewModel(ctx: StepContext, project: ProjectInfo, config: CircuitConfig, result: RoundResult): Promise<string> {
  const { files } = ctx;
  const have = await files.read<ModelFile>("model.json");
  const scale = Number(project.params.quantizationScale);
  const weights = dequantizeModel(result.newModel, scale);
  if (globalModelCommitment(weights, result.step, scale, config) !== result.newModelCommitment) {
    throw new AggregatorError("model", "internal: the published weights do not quantize to the proven model commitment");
  }
  const bytes = encodeWeights(weights);
  let cid: string;
  try {
    cid = await ctx.store.put(bytes); // idempotent: same bytes, same CID (re-pinned after a crash)
  } catch (err) {
    throw new AggregatorError("ipfs", `cannot pin the new global model: ${(err as Error).message}. Is IPFS reachable?`, { cause: err });
  }
  if (have !== undefined && have.cid !== cid)
    throw new AggregatorError("internal", `the new model's CID ${cid} differs from the recorded ${have.cid}`);
  if (have === undefined) {
    await files.write("model.json", {
      cid,
      bytes: bytes.length,
      newModelCommitment: result.newModelCommitment.toString(),
    } satisfies ModelFile);
    ctx.log.log("info", "model.pinned", `new global model pinned: ${cid}`, { cid });
    await ctx.checkpoint("after-pin");
  }
  return cid;
}
