/**
 * Step 4 of a round: quantize and commit the saved delta (update.ts -> @fedmarket/core), seal the
 * payload to the aggregator's and the owner's X25519 keys from chain, bound to (chain, market,
 * project, round, trainer) (@fedmarket/protocol's update codec), saved as `update.fmev` (`sealed`).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { bytes32ToBytes, decodeWeights, sealUpdate, writeFileAtomic, type ProjectInfo } from "@fedmarket/protocol";
import { prepareUpdate } from "../../update.ts";
import { downloadSpec } from "../chain-io.ts";
import { TrainerNodeError } from "../errors.ts";
import type { TrainerNodeOptions } from "../types.ts";

/** Step 4: quantize, commit, encode, seal, save. */
export async function sealRoundUpdate(o: TrainerNodeOptions, p: ProjectInfo, round: number): Promise<void> {
  const { spec, summary } = await downloadSpec(o, p);
  const circuit = spec.circuit;
  if (circuit === undefined) throw new TrainerNodeError("spec", "the model spec has no circuit section");
  const dir = o.state.roundDir(p.id, round);
  const delta = decodeWeights(await readFile(path.join(dir, "delta.fmw")), summary.parameters); // rejects NaN/Inf
  const update = prepareUpdate(delta, spec.quantization, circuit);
  const recipientKeys = [p.aggregatorEncryptionKey, p.ownerEncryptionKey].map((k, i) => {
    const bytes = bytes32ToBytes(k);
    if (bytes.every((x) => x === 0)) {
      throw new TrainerNodeError(
        "no-key",
        `the ${i === 0 ? "aggregator" : "owner"} of project ${p.id} has published no encryption key; cannot encrypt the update`,
      );
    }
    return bytes;
  });
  const { envelope } = sealUpdate({
    chainId: o.chainId,
    market: o.client.address,
    projectId: p.id,
    round,
    trainer: o.address,
    config: circuit,
    values: update.quantized,
    salt: update.salt,
    recipientKeys,
  });
  await writeFileAtomic(path.join(dir, "update.fmev"), envelope);
  await o.state.update(p.id, round, { phase: "sealed", commitment: update.commitment.toString() });
  o.logger.log(
    "info",
    "round.sealed",
    `round ${round}: update quantized (${update.quantized.length} values, ${circuit.updateBits} bits), committed and encrypted (${envelope.length} bytes)`,
    {
      projectId: p.id,
      round,
      commitment: update.commitment,
      bytes: envelope.length,
    },
  );
}
