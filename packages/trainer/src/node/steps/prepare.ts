/**
 * Step 2 of a round: download the model spec and the global model, check the spec against the chain
 * (`D`, scale, clip bound, the verifier's `kMax`/`chunk`) and the model, with the step committed with
 * it, against its on-chain commitment, and hand the producer everything it may use for the round
 * (`RoundInput`).
 */
import { modelCommitment, type CircuitConfig } from "@fedmarket/core";
import {
  checkSpecAgainstProject,
  committedModelStep,
  decodeWeights,
  dequantizeModel,
  loadFrozenWeights,
  loadProjectHistory,
  historyStartBlock,
  ModelStepError,
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

/** Each client's projects' history start blocks (found once: a project's creation block never changes). */
const historyStarts = new WeakMap<TrainerNodeOptions["client"], Map<bigint, Promise<number>>>();

/**
 * Where project `projectId`'s history is read from (@fedmarket/protocol `historyStartBlock`: its
 * creation block, about log2(latest block) calls), found once per project, so that the read every
 * round does not scan the chain from block 0. A failure is not kept: the next round asks again.
 */
function historyStart(o: TrainerNodeOptions, projectId: bigint): Promise<number> {
  let known = historyStarts.get(o.client);
  if (known === undefined) historyStarts.set(o.client, (known = new Map()));
  let start = known.get(projectId);
  if (start === undefined) {
    start = historyStartBlock(o.client, projectId, o.logger);
    start.catch(() => known.delete(projectId));
    known.set(projectId, start);
  }
  return start;
}

/**
 * The step committed with the round's model `global` (@fedmarket/protocol `committedModelStep`: the
 * model minus the one it replaced, in quantized units; `undefined`: zeros), from the public
 * RoundOpened history and the models it names. Computed once: the model's commitment needs it, and
 * it is the last global delta the update producer may use (a free rider's copy).
 */
async function committedStepOf(
  o: TrainerNodeOptions,
  p: ProjectInfo,
  round: number,
  global: readonly bigint[],
  scale: number,
  circuit: CircuitConfig,
): Promise<bigint[] | undefined> {
  const history = await loadProjectHistory(o.client, p.id, { fromBlock: await historyStart(o, p.id) });
  try {
    return await committedModelStep(history, round, global, async (opened) =>
      quantizeModel(
        decodeWeights(await fetchBlob(o, opened.modelCid, `global model of round ${opened.round}`), global.length),
        scale,
        circuit.modelBits,
      ),
    );
  } catch (err) {
    if (!(err instanceof ModelStepError)) throw err;
    throw new TrainerNodeError("model-mismatch", `${err.message}; nothing was trained`, { cause: err });
  }
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
  const scale = spec.quantization.scale;
  const quantized = quantizeModel(global, scale, circuit.modelBits);
  const step = await committedStepOf(o, p, round, quantized, scale, circuit);
  if (modelCommitment(quantized, step, circuit) !== p.modelCommitment) {
    throw new TrainerNodeError(
      "model-mismatch",
      `the global model ${p.modelCid} with its step (${step === undefined ? "zero" : "the model minus the one it replaced"}) ` +
        `does not match the model commitment on chain (${p.modelCommitment}); refusing to train on it`,
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
    lastGlobalDelta: async () => (step === undefined ? undefined : dequantizeModel(step, scale)),
    submissions: async () => [...(await o.client.updateRevealed({ projectId: p.id, round }))].sort((x, y) => x.slot - y.slot),
  };
}
