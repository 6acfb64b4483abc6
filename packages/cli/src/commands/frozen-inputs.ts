/**
 * `project create`'s frozen-layer inputs: `--frozen-weights <file>` (the frozen layers' weights) and
 * `--pretrained <file>` (the whole network's weights, split into head and backbone), and the spec's
 * own `frozenWeights` CID when neither is given.
 *
 * Pure apart from the split (TF.js is loaded only for `--pretrained`), so the rules are unit-tested
 * without a chain or a store: test/frozen-inputs.test.ts.
 */
import {
  computeCid,
  decodeWeights,
  encodeWeights,
  loadFrozenWeights,
  ModelSpecError,
  parseCid,
  validateModelSpec,
  type ValidateModelSpecOptions,
  type ModelSpec,
  type ModelSummary,
} from "@fedmarket/protocol";
import { UsageError } from "../owner/connect.ts";

/** The file names of the flags involved (`spec` for messages). */
export interface FrozenFlags {
  readonly spec: string;
  readonly initialModel?: string;
  readonly frozenWeights?: string;
  readonly pretrained?: string;
}

/** The bytes of the files named by `--frozen-weights` and `--pretrained` (read by the command). */
export interface FrozenFiles {
  readonly frozenWeights?: Uint8Array;
  readonly pretrained?: Uint8Array;
}

/** The head / backbone split of a whole network's weights (`splitTrainedWeights` of @fedmarket/ml). */
export type SplitWeights = (spec: ModelSpec, full: Float32Array) => Promise<{ trainable: Float32Array; frozen: Float32Array }>;

export interface FrozenSpecInputs {
  /** The spec to pin (and whose CID goes on chain): the file's JSON with `frozenWeights` inserted when a flag gave the weights. */
  readonly specJson: unknown;
  readonly spec: ModelSpec;
  readonly summary: ModelSummary;
  /** The encoded frozen layers' weights to pin with the spec (absent when no flag gave them). */
  readonly frozenWeights?: Uint8Array;
  /** The initial model from `--pretrained` (its trainable layers), else absent. */
  readonly initialWeights?: Float32Array;
  /**
   * Set when the spec freezes layers and names `frozenWeights` itself with neither flag: that CID
   * must be fetched from the store before anything is sent (`checkPinnedFrozenWeights`).
   */
  readonly pinnedFrozenCid?: string;
}

const FLAGS_HINT =
  "pass --frozen-weights <file> (the frozen layers' weights; its CID is inserted into the spec) or --pretrained <file> (the whole network's weights, split into the frozen part and the initial model)";

/** The flags that cannot go together; checked before any file is read so that this error comes first. */
export function checkFrozenFlags(flags: Omit<FrozenFlags, "spec">): void {
  if (flags.pretrained !== undefined && flags.initialModel !== undefined)
    throw new UsageError(
      "--pretrained and --initial-model cannot go together: --pretrained already gives the initial model (its trainable layers); pass one of them",
    );
  if (flags.pretrained !== undefined && flags.frozenWeights !== undefined)
    throw new UsageError(
      "--pretrained and --frozen-weights cannot go together: --pretrained already gives the frozen layers' weights; pass one of them",
    );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Whether the raw spec marks a layer `trainable: false` (decides whether a CID is inserted; validation has the last word). */
function freezesLayers(specJson: unknown): boolean {
  return isRecord(specJson) && Array.isArray(specJson.layers) && specJson.layers.some((l) => isRecord(l) && l.trainable === false);
}

/** The canonical form of a CID the spec names, for comparison (as written when it does not parse: then it differs anyway). */
function canonicalCid(raw: unknown): string {
  if (typeof raw !== "string") return JSON.stringify(raw);
  try {
    return parseCid(raw).toString();
  } catch {
    return raw.trim();
  }
}

function validated(
  specJson: unknown,
  flags: FrozenFlags,
  options: ValidateModelSpecOptions = {},
): { spec: ModelSpec; summary: ModelSummary } {
  try {
    return validateModelSpec(specJson, options);
  } catch (err) {
    const message = (err as Error).message;
    // A spec with frozen layers and no usable CID: the flags are the way out, say so.
    const hint =
      err instanceof ModelSpecError &&
      err.path === "frozenWeights" &&
      flags.frozenWeights === undefined &&
      flags.pretrained === undefined &&
      freezesLayers(specJson)
        ? `; ${FLAGS_HINT}`
        : "";
    throw new UsageError(`--spec ${flags.spec} is not a valid model spec: ${message}${hint}`);
  }
}

function decoded(bytes: Uint8Array, flag: string, file: string): Float32Array {
  try {
    return decodeWeights(bytes);
  } catch (err) {
    throw new UsageError(`${flag} ${file} is not a fedmarket weights file (.fmw): ${(err as Error).message}`);
  }
}

/**
 * The spec and frozen weights `project create` publishes. With `--frozen-weights` or `--pretrained`
 * the frozen layers' weights file is computed here and its CID inserted as `frozenWeights` BEFORE
 * validation (a spec file need not know the CID in advance); a CID already in the spec must be the
 * same. Throws `UsageError` naming the flag and what to do.
 */
export async function frozenSpecInputs(
  specJson: unknown,
  flags: FrozenFlags,
  files: FrozenFiles,
  split: SplitWeights = splitWithMl,
): Promise<FrozenSpecInputs> {
  checkFrozenFlags(flags);
  const frozen = freezesLayers(specJson);
  const named = isRecord(specJson) && specJson.frozenWeights !== undefined ? specJson.frozenWeights : undefined;

  // The frozen layers' weights file from a flag: --frozen-weights as given, or --pretrained's backbone.
  let frozenFile: { bytes: Uint8Array; from: string } | undefined;
  let initialWeights: Float32Array | undefined;
  if (flags.frozenWeights !== undefined) {
    const bytes = required(files.frozenWeights, "--frozen-weights");
    if (!frozen)
      throw new UsageError(
        `--frozen-weights ${flags.frozenWeights}: --spec ${flags.spec} freezes no layer (no "trainable": false): mark the backbone's layers "trainable": false, or drop --frozen-weights`,
      );
    frozenFile = { bytes, from: `--frozen-weights ${flags.frozenWeights}` };
  } else if (flags.pretrained !== undefined) {
    const full = decoded(required(files.pretrained, "--pretrained"), "--pretrained", flags.pretrained);
    // The layout needs only the layer sizes: the backbone's CID is known once it is split off.
    const layout = validated(specJson, flags, { frozenWeightsPending: true });
    const { parameters, frozenParameters } = layout.summary;
    if (full.length !== parameters + frozenParameters)
      throw new UsageError(
        `--pretrained ${flags.pretrained} holds ${full.length} values, but the layers of --spec ${flags.spec} have ${parameters + frozenParameters} (${parameters} trainable + ${frozenParameters} frozen): pass the whole network's weights (every layer as if none were frozen, layer order, kernel then bias)`,
      );
    const parts = await split(layout.spec, full);
    initialWeights = parts.trainable;
    if (frozenParameters > 0)
      frozenFile = { bytes: encodeWeights(parts.frozen), from: `the frozen layers' part of --pretrained ${flags.pretrained}` };
  }

  let published = specJson;
  if (frozenFile !== undefined) {
    const cid = await computeCid(frozenFile.bytes);
    if (named !== undefined && canonicalCid(named) !== cid)
      throw new UsageError(
        `${frozenFile.from} has CID ${cid}, but --spec ${flags.spec} names frozenWeights ${typeof named === "string" ? named : JSON.stringify(named)}: remove "frozenWeights" from the spec (the command inserts the file's CID), or pass the file whose CID that is`,
      );
    // isRecord holds: the spec has frozen layers, so it is an object.
    published = { ...(specJson as Record<string, unknown>), frozenWeights: cid };
  }

  const { spec, summary } = validated(published, flags);
  if (flags.frozenWeights !== undefined && frozenFile !== undefined) {
    const values = decoded(frozenFile.bytes, "--frozen-weights", flags.frozenWeights);
    if (values.length !== summary.frozenParameters)
      throw new UsageError(
        `--frozen-weights ${flags.frozenWeights} holds ${values.length} values, but the frozen layers of --spec ${flags.spec} have ${summary.frozenParameters}: give the frozen layers' weights only (spec order, kernel then bias), or the whole network's with --pretrained`,
      );
  }
  return {
    specJson: published,
    spec,
    summary,
    ...(frozenFile === undefined ? {} : { frozenWeights: frozenFile.bytes }),
    ...(initialWeights === undefined ? {} : { initialWeights }),
    ...(frozenFile === undefined && summary.frozenParameters > 0 && spec.frozenWeights !== undefined
      ? { pinnedFrozenCid: spec.frozenWeights }
      : {}),
  };
}

function required(bytes: Uint8Array | undefined, flag: string): Uint8Array {
  if (bytes === undefined) throw new Error(`${flag} was given but its file was not read`);
  return bytes;
}

/** `splitTrainedWeights` with TF.js loaded only when --pretrained is used (it is slow to load). */
async function splitWithMl(spec: ModelSpec, full: Float32Array): Promise<{ trainable: Float32Array; frozen: Float32Array }> {
  const { selectBackend, splitTrainedWeights } = await import("@fedmarket/ml");
  const backend = await selectBackend({ log: () => {} });
  return splitTrainedWeights(backend.tf, spec, full);
}

/**
 * The frozen weights a spec names itself must be fetchable before the project is created: trainers
 * and the aggregator could not build the model otherwise. `store` names the store in the message.
 */
export async function checkPinnedFrozenWeights(
  checked: { spec: ModelSpec; summary: ModelSummary },
  get: (cid: string) => Promise<Uint8Array>,
  store: string,
): Promise<void> {
  const cid = checked.spec.frozenWeights;
  let fetched = false;
  try {
    await loadFrozenWeights(checked.spec, checked.summary, async (c) => {
      const bytes = await get(c);
      fetched = true;
      return bytes;
    });
  } catch (err) {
    const why = (err as Error).message;
    if (!fetched)
      throw new UsageError(
        `the spec's frozenWeights ${cid} cannot be fetched from ${store}: pin it, or pass --frozen-weights <file> (${why})`,
      );
    throw new UsageError(
      `the spec's frozenWeights ${cid} (in ${store}) does not fit its frozen layers: ${why}; pass --frozen-weights <file>`,
    );
  }
}
