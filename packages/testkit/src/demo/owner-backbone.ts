/**
 * The demo owner's backbone: the whole network (`demoBackboneSpec`, every layer trainable) trained on
 * the owner's own split, before the project exists. In a real project the owner brings a model it
 * already has; the demo makes one, once per machine, and caches it in .cache/demo-backbone/ (keyed by
 * the network, the owner's data and the training settings), like the circuits' setup.
 *
 * The optimizer here is the owner's business (Adam with a step decay), not the spec's: the spec's
 * training section is what the trainers use for the head.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildModel, flattenWeights, permutation, seededRandom, type Dataset, type TF } from "@fedmarket/ml";
import { decodeWeights, encodeWeights, REPO_ROOT } from "@fedmarket/protocol";

/** Epochs of the owner's pretraining and the learning rate of each (Adam; the last ones anneal). */
export const PRETRAIN_SCHEDULE: readonly number[] = [0.003, 0.003, 0.003, 0.003, 0.003, 0.003, 0.001, 0.001, 0.0003, 0.0003];
const BATCH = 32;

export interface OwnerBackbone {
  /** The whole network's weights (every layer, layer order): split by ml `splitTrainedWeights`. */
  readonly weights: Float32Array;
  /** Wall time of the pretraining when it ran now (first run on this machine). */
  readonly firstTimeMs?: number;
  /** The cache file. */
  readonly file: string;
}

function cacheKey(spec: Record<string, unknown>, owner: Dataset, backend: string): string {
  const h = createHash("sha256");
  // The network, its initial weights' seed and the owner's training: not the spec's training section (the trainers').
  const network = { inputShape: spec.inputShape, labels: spec.labels, layers: spec.layers, seed: spec.seed };
  h.update(JSON.stringify({ network, schedule: PRETRAIN_SCHEDULE, batch: BATCH, backend }));
  h.update(new Uint8Array(owner.features.buffer, owner.features.byteOffset, owner.features.byteLength));
  h.update(new Uint8Array(owner.labels.buffer, owner.labels.byteOffset, owner.labels.byteLength));
  return h.digest("hex").slice(0, 16);
}

/** Trains `spec` (every layer trainable) on the owner's split, or loads the cached result. */
export async function ownerBackbone(
  tf: TF,
  spec: Record<string, unknown>,
  owner: Dataset,
  o: { seed: number; log: (line: string) => void },
): Promise<OwnerBackbone> {
  const file = path.join(REPO_ROOT, ".cache", "demo-backbone", `${cacheKey(spec, owner, tf.getBackend())}.fmw`);
  const { model, summary, spec: checked } = buildModel(tf, spec, { compile: false });
  try {
    try {
      return { weights: decodeWeights(await readFile(file), summary.parameters), file };
    } catch {
      // Not made yet on this machine (or unreadable): make it.
    }
    o.log(
      `owner: pretraining its backbone on its own ${owner.count} digits (${PRETRAIN_SCHEDULE.length} epochs, once per machine, cached in .cache/demo-backbone/)`,
    );
    const started = Date.now();
    const optimizer = tf.train.adam(PRETRAIN_SCHEDULE[0]);
    model.compile({ optimizer, loss: summary.loss, metrics: ["accuracy"] });
    const xs = tf.tensor(owner.features, [owner.count, ...checked.inputShape], "float32");
    const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(owner.labels, "int32"), checked.labels.length).cast("float32"));
    const rng = seededRandom(o.seed);
    try {
      for (const [epoch, rate] of PRETRAIN_SCHEDULE.entries()) {
        // Adam reads its learning rate at every step: a step decay needs no new optimizer.
        (optimizer as unknown as { learningRate: number }).learningRate = rate;
        const perm = tf.tensor1d(permutation(owner.count, rng), "int32");
        const [x, y] = [tf.gather(xs, perm), tf.gather(ys, perm)];
        perm.dispose();
        try {
          const h = await model.fit(x, y, { epochs: 1, batchSize: BATCH, shuffle: false, verbose: 0 });
          const acc = Number(h.history.acc?.[0] ?? h.history.accuracy?.[0] ?? Number.NaN);
          o.log(
            `owner: pretraining epoch ${epoch + 1}/${PRETRAIN_SCHEDULE.length}: training accuracy ${(acc * 100).toFixed(1)} % (${((Date.now() - started) / 1000).toFixed(0)} s)`,
          );
        } finally {
          tf.dispose([x, y]);
        }
      }
    } finally {
      tf.dispose([xs, ys]);
      optimizer.dispose();
    }
    const weights = flattenWeights(model);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(`${file}.tmp`, encodeWeights(weights));
    await rename(`${file}.tmp`, file);
    return { weights, firstTimeMs: Date.now() - started, file };
  } finally {
    model.dispose();
  }
}
