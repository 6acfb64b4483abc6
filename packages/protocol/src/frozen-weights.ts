/**
 * Fetching the frozen backbone's weights a spec pins under `frozenWeights` (model-spec.ts).
 *
 * The file is an ordinary weights file (weights-format.ts) over the frozen layers only: frozen
 * layers in spec order, each layer's kernel then bias, row-major. Its length is
 * `ModelSummary.frozenParameters`, not `D`: the frozen part is never trained, committed or proven.
 */
import type { ModelSpec, ModelSummary } from "./model-spec.ts";
import { decodeWeights } from "./weights-format.ts";

/**
 * The frozen layers' weights of `spec`, or `undefined` when no layer is frozen (then `get` is not
 * called). `get` fetches a blob by CID (e.g. a BlobStore's `get`). Throws if the file does not
 * decode or holds a different number of values than the spec's frozen layers.
 */
export async function loadFrozenWeights(
  spec: ModelSpec,
  summary: ModelSummary,
  get: (cid: string) => Promise<Uint8Array>,
): Promise<Float32Array | undefined> {
  if (summary.frozenParameters === 0) return undefined;
  const cid = spec.frozenWeights;
  // validateModelSpec guarantees the CID when a layer is frozen; a hand-built spec may not.
  if (cid === undefined) {
    throw new Error(
      `the spec freezes ${summary.frozenParameters} parameters but has no frozenWeights CID; validate it with validateModelSpec`,
    );
  }
  const bytes = await get(cid);
  try {
    return decodeWeights(bytes, summary.frozenParameters);
  } catch (err) {
    throw new Error(
      `the frozen weights ${cid} do not fit the spec's frozen layers (${summary.frozenParameters.toLocaleString("en-US")} values): ${(err as Error).message}`,
      { cause: err },
    );
  }
}
