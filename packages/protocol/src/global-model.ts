/**
 * How the global model is represented, on IPFS and on chain.
 *
 * - On IPFS, a global model is a weights file (weights-format.ts) of float32 weights `w`.
 * - On chain, its commitment is @fedmarket/core's `modelCommitment(q, step, circuit)` over the
 *   quantized model `q = quantizeModel(w, scale, BG)` (the spec's `quantization.scale`,
 *   `BG = circuit.modelBits` signed bits) and the step that produced it (the last global delta,
 *   `q` minus the model it replaced: zeros for an initial model; history.ts `committedModelStep`
 *   derives it from the chain). The fixed-point rules themselves (`quantizeModel`,
 *   `dequantizeModel`, the quantized clip bound) live in @fedmarket/core's quantize.ts and are
 *   re-exported here for the callers that import them from this package.
 *
 * This module also maps a model spec to the chain's `CircuitParams` and checks a spec against a
 * project read from chain, so that every node agrees on `D`, the scale and the clip bound.
 */
import { checkModelHeadroom, modelCommitment, quantizedClipBound, quantizeModel, type CircuitConfig } from "@fedmarket/core";
import type { ModelSpec } from "./model-spec.ts";
import type { FedMarketClient, ProjectInfo } from "./chain/fedmarket.ts";

export class ModelMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelMismatchError";
  }
}

/**
 * Among a project's `RoundOpened` events, the latest round before `round` that opened on a model
 * other than `currentCommitment`: its model is the one the current model replaced (skipped and
 * failed rounds leave the model unchanged). `undefined` while the model has never changed.
 */
export function previousModelOpening<E extends { readonly round: number; readonly modelCommitment: bigint }>(
  opened: readonly E[],
  round: number,
  currentCommitment: bigint,
): E | undefined {
  return opened
    .filter((e) => e.round < round && e.modelCommitment !== currentCommitment)
    .reduce<E | undefined>((latest, e) => (latest === undefined || e.round > latest.round ? e : latest), undefined);
}

export { dequantizeModel, quantizeModel } from "@fedmarket/core";

/**
 * The on-chain model commitment of float weights under a spec's scale and circuit, with `step`, the
 * quantized step committed with them (the model minus the one it replaced, `B`-bit values;
 * `undefined`: zeros, an initial model or one whose round aggregated nobody).
 */
export function globalModelCommitment(
  weights: ArrayLike<number>,
  step: readonly bigint[] | undefined,
  scale: number,
  circuit: CircuitConfig,
): bigint {
  return modelCommitment(quantizeModel(weights, scale, circuit.modelBits), step, circuit);
}

/**
 * The commitment of a project's initial model, once it is known to keep within the model's headroom
 * for `numRounds` rounds (core `checkModelHeadroom`: within `BG - 1` signed bits, at most `maxRounds`
 * rounds; throws a `RangeError` saying what to change otherwise). Its step is zero: no round produced it.
 */
export function initialModelCommitment(weights: ArrayLike<number>, scale: number, circuit: CircuitConfig, numRounds: number): bigint {
  const q = quantizeModel(weights, scale, circuit.modelBits);
  checkModelHeadroom(q, numRounds, circuit);
  return modelCommitment(q, undefined, circuit);
}

/** The contract's `CircuitParams` (IFedMarket) for a spec. */
export interface ChainCircuitParams {
  readonly modelSize: number;
  readonly byzantineTolerance: number;
  readonly quantizationScale: bigint;
  /** In quantized units: `quantizedClipBound` (`roundHalfAwayFromZero(clipBound * scale)`). */
  readonly clipBound: bigint;
}

/** `CircuitParams` for a spec with `D` parameters and tolerance `f`. */
export function chainCircuitParams(spec: ModelSpec, parameters: number, byzantineTolerance: number): ChainCircuitParams {
  if (!Number.isSafeInteger(spec.quantization.scale)) throw new RangeError("quantization.scale must be an integer for the chain");
  return {
    modelSize: parameters,
    byzantineTolerance,
    quantizationScale: BigInt(spec.quantization.scale),
    clipBound: quantizedClipBound(spec.quantization),
  };
}

/** What a node reads from chain about a project, to compare with the spec. */
export interface ChainModelFacts {
  readonly modelSize: number;
  readonly quantizationScale: bigint;
  readonly clipBound: bigint;
  /** The verifier's `maxTrainers()` and `chunkSize()`. */
  readonly verifierMaxTrainers: number;
  readonly verifierChunkSize: number;
}

/**
 * Throws `ModelMismatchError` (naming both values) unless the spec (with `D = parameters`)
 * describes the project on chain; returns the spec's circuit configuration.
 */
export function checkSpecAgainstChain(spec: ModelSpec, parameters: number, chain: ChainModelFacts): CircuitConfig {
  const circuit = spec.circuit;
  if (circuit === undefined) throw new ModelMismatchError('the model spec has no "circuit" section: the project\'s owner must publish one');
  const problems: string[] = [];
  if (parameters !== chain.modelSize) problems.push(`model size: spec ${parameters}, chain ${chain.modelSize}`);
  if (BigInt(spec.quantization.scale) !== chain.quantizationScale) {
    problems.push(`quantization scale: spec ${spec.quantization.scale}, chain ${chain.quantizationScale}`);
  }
  const clip = quantizedClipBound(spec.quantization);
  if (clip !== chain.clipBound) problems.push(`clip bound (quantized): spec ${clip}, chain ${chain.clipBound}`);
  if (circuit.kMax !== chain.verifierMaxTrainers) problems.push(`kMax: spec ${circuit.kMax}, verifier ${chain.verifierMaxTrainers}`);
  if (circuit.chunk !== chain.verifierChunkSize) problems.push(`chunk: spec ${circuit.chunk}, verifier ${chain.verifierChunkSize}`);
  if (problems.length > 0) throw new ModelMismatchError(`the model spec does not match the project on chain (${problems.join("; ")})`);
  return circuit;
}

/**
 * `checkSpecAgainstChain` for a project as the market reports it: its model size, scale and clip
 * bound, and the configuration its verifier reports (one read). Returns the spec's circuit.
 */
export async function checkSpecAgainstProject(
  client: Pick<FedMarketClient, "verifierConfig">,
  project: Pick<ProjectInfo, "verifier" | "params">,
  spec: ModelSpec,
  parameters: number,
): Promise<CircuitConfig> {
  const verifier = await client.verifierConfig(project.verifier);
  return checkSpecAgainstChain(spec, parameters, {
    modelSize: project.params.modelSize,
    quantizationScale: project.params.quantizationScale,
    clipBound: project.params.clipBound,
    verifierMaxTrainers: verifier.maxTrainers,
    verifierChunkSize: verifier.chunkSize,
  });
}
