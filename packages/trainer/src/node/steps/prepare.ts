/**
 * Step 2 of a round: download the model spec and the global model, check the spec against the chain
 * (`D`, scale, clip bound, the verifier's `kMax`/`chunk`) and the model against its on-chain
 * commitment, and hand the producer everything it may use for the round (`RoundInput`).
 */
import {
  checkSpecAgainstProject,
  decodeWeights,
  dequantizeModel,
  globalModelCommitment,
  lastGlobalDelta,
  loadFrozenWeights,
  loadProjectHistory,
  quantizeModel,
  type ProjectInfo,
} from "@fedmarket/protocol";
import type { BackendInfo, Dataset } from "@fedmarket/ml";
import { downloadSpec, fetchBlob } from "../chain-io.ts";
import { TrainerNodeError } from "../errors.ts";
import type { TrainerNodeOptions } from "../types.ts";
import type { RoundInput } from "../update-producer.ts";

/** What the node supplies lazily: its data set and its TensorFlow.js backend, each loaded once. */
export interface LocalResources {
  loadDataset(spec: RoundInput["spec"]): Promise<Dataset>;
  backend(): Promise<BackendInfo>;
}

/**
 * `g_r - g_{r-1}` (floats) from the public RoundOpened history and the models it names, once the
 * model has changed: the one derivation (@fedmarket/protocol `lastGlobalDelta`), in quantized
 * units, divided by the scale (what a free-rider update producer wraps).
 */
async function lastGlobalDeltaOf(
  o: TrainerNodeOptions,
  p: ProjectInfo,
  round: number,
  scale: number,
  modelBits: number,
  size: number,
): Promise<Float32Array | undefined> {
  const history = await loadProjectHistory(o.client, p.id);
  const delta = await lastGlobalDelta(history, round, async (opened) =>
    quantizeModel(decodeWeights(await fetchBlob(o, opened.modelCid, `global model of round ${opened.round}`), size), scale, modelBits),
  );
  return delta === undefined ? undefined : dequantizeModel(delta, scale);
}

/**
 * Step 2: download the spec, its frozen layers' weights (if it freezes any) and the global model,
 * check them against chain. The frozen weights are bound to the chain through the spec: the spec
 * names them by CID, the chain names the spec by CID, and every blob is verified against its CID.
 */
export async function prepareRound(o: TrainerNodeOptions, p: ProjectInfo, round: number, local: LocalResources): Promise<RoundInput> {
  const bar = o.logger.progress("download", 3, "blobs");
  const { spec, summary } = await downloadSpec(o, p);
  bar.update(1, { info: "spec" });
  const frozenWeights = await loadFrozenWeights(spec, summary, (cid) => fetchBlob(o, cid, "frozen layers' weights")).catch(
    (err: unknown) => {
      if (err instanceof TrainerNodeError) throw err;
      // Fetched and CID-checked, but not weights of the spec's frozen layers: the owner pinned the wrong file.
      throw new TrainerNodeError("spec", `${(err as Error).message}; the project's owner must pin the right file. Nothing was trained`, {
        cause: err,
      });
    },
  );
  bar.update(2, { info: frozenWeights === undefined ? "no frozen layers" : "frozen layers" });
  const circuit = await checkSpecAgainstProject(o.client, p, spec, summary.parameters);
  const modelBytes = await fetchBlob(o, p.modelCid, "global model");
  bar.update(3, { info: "model" });
  bar.stop();
  const global = decodeWeights(modelBytes, summary.parameters);
  if (globalModelCommitment(global, spec.quantization.scale, circuit) !== p.modelCommitment) {
    throw new TrainerNodeError(
      "model-mismatch",
      `the global model ${p.modelCid} does not match the model commitment on chain (${p.modelCommitment}); refusing to train on it`,
    );
  }
  o.logger.log(
    "info",
    "round.downloaded",
    `round ${round}: model ${spec.name ?? "?"} (${summary.parameters} trainable parameters` +
      (frozenWeights === undefined ? "" : `, ${summary.frozenParameters} frozen`) +
      `) downloaded and verified`,
    { projectId: p.id, round, parameters: summary.parameters, frozenParameters: summary.frozenParameters },
  );
  return {
    projectId: p.id,
    round,
    trainer: o.address,
    spec,
    summary,
    globalWeights: global,
    ...(frozenWeights === undefined ? {} : { frozenWeights }),
    hyperParams: p.hyperParams,
    seed: o.seed ?? round,
    logger: o.logger,
    loadDataset: () => local.loadDataset(spec),
    backend: () => local.backend(),
    lastGlobalDelta: () => lastGlobalDeltaOf(o, p, round, spec.quantization.scale, circuit.modelBits, summary.parameters),
    submissions: async () => [...(await o.client.updateRevealed({ projectId: p.id, round }))].sort((x, y) => x.slot - y.slot),
  };
}
