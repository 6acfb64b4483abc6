/**
 * Step 4 of a round: quantize the saved delta (update.ts -> @fedmarket/core) and seal it
 * (@fedmarket/protocol's update codec): encrypted for the aggregator's registered seal key, the
 * ephemeral secret `e` wrapped for the owner's X25519 key and bound to (chain, market, project,
 * round, trainer), saved as `update.fmsu` with its commitment (`sealed`).
 *
 * Resumable: `e` is recorded in the round's entry before the blob is written, and the blob is a
 * function of `e` and the delta, so re-running the step after a crash writes the same blob (same
 * CID, same commitment). A new delta (steps/produce.ts) clears `e`: a keystream is never reused.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { bytes32ToBytes, decodeWeights, sealUpdate, UpdateCodecError, writeFileAtomic, type ProjectInfo } from "@fedmarket/protocol";
import { quantizeUpdate } from "../../update.ts";
import { downloadSpec } from "../chain-io.ts";
import { TrainerNodeError } from "../errors.ts";
import type { TrainerNodeOptions } from "../types.ts";

/** The sealed update's file in a round's folder. */
export const SEALED_UPDATE_FILE = "update.fmsu";

/** The project's keys from chain, or a clear error when one is not published. */
function projectKeys(p: ProjectInfo): { sealKey: readonly [bigint, bigint]; ownerKey: Uint8Array } {
  const sealKey = p.aggregatorSealKey;
  if (sealKey[0] === 0n && sealKey[1] === 0n) {
    throw new TrainerNodeError(
      "no-key",
      `project ${p.id} has no registered aggregator seal key (no aggregator accepted); cannot seal the update`,
    );
  }
  const ownerKey = bytes32ToBytes(p.ownerEncryptionKey);
  if (ownerKey.every((x) => x === 0)) {
    throw new TrainerNodeError("no-key", `the owner of project ${p.id} has published no encryption key; cannot seal the update`);
  }
  return { sealKey, ownerKey };
}

/** Step 4: quantize, seal (recording `e` first), save. */
export async function sealRoundUpdate(o: TrainerNodeOptions, p: ProjectInfo, round: number): Promise<void> {
  const { spec, summary } = await downloadSpec(o, p);
  const circuit = spec.circuit;
  if (circuit === undefined) throw new TrainerNodeError("spec", "the model spec has no circuit section");
  const { sealKey, ownerKey } = projectKeys(p);
  const dir = o.state.roundDir(p.id, round);
  const delta = decodeWeights(await readFile(path.join(dir, "delta.fmw")), summary.parameters); // rejects NaN/Inf
  const values = quantizeUpdate(delta, spec.quantization, circuit);
  const recorded = o.state.get(p.id, round)?.ephemeralSecret;
  let sealed;
  try {
    sealed = sealUpdate({
      chainId: o.chainId,
      market: o.client.address,
      projectId: p.id,
      round,
      trainer: o.address,
      config: circuit,
      values,
      sealKey,
      ownerKey,
      ...(recorded === undefined ? {} : { ephemeralSecret: BigInt(recorded) }),
    });
  } catch (err) {
    if (!(err instanceof UpdateCodecError)) throw err;
    throw new TrainerNodeError("no-key", `cannot seal the update of round ${round} for project ${p.id}: ${err.message}`, { cause: err });
  }
  if (recorded === undefined) {
    await o.state.update(p.id, round, { phase: "trained", ephemeralSecret: sealed.ephemeralSecret.toString() });
  }
  await writeFileAtomic(path.join(dir, SEALED_UPDATE_FILE), sealed.blob);
  await o.state.update(p.id, round, { phase: "sealed", commitment: sealed.commitment.toString() });
  o.logger.log(
    "info",
    "round.sealed",
    `round ${round}: update quantized (${values.length} values, ${circuit.updateBits} bits), sealed for the aggregator and the owner and committed (${sealed.blob.length} bytes)`,
    {
      projectId: p.id,
      round,
      commitment: sealed.commitment,
      bytes: sealed.blob.length,
      resealed: recorded !== undefined,
    },
  );
}
