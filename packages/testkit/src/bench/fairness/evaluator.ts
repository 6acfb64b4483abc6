/**
 * Evaluates many candidate models of one dense network at once: exact Shapley needs the
 * accuracy and loss of all 256 coalition models of every round, and building a tfjs
 * LayersModel per coalition costs more than the evaluation itself. Here the models are rows of
 * one `[M, D]` weight tensor (the protocol's flat weight order: layer by layer, kernel `[in, out]`
 * row-major, then bias) and the forward pass is batched over models.
 *
 * The same forward pass, for one model, gives the owner's validation loss and its gradient
 * (`tf.grad`), which the candidate rules use as their reference direction `v`.
 */
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import type { TF, Dataset } from "@fedmarket/ml";
import type { ModelSpec } from "@fedmarket/protocol";

interface DenseStep {
  readonly inputs: number;
  readonly units: number;
  readonly activation: string;
  readonly kernelOffset: number;
  /** `-1` without bias. */
  readonly biasOffset: number;
}

/** The flat-weight layout of a spec made only of dense layers over a rank-1 input (throws otherwise). */
function denseSteps(spec: ModelSpec): { steps: DenseStep[]; parameters: number } {
  if (spec.inputShape.length !== 1) throw new RangeError("the batched evaluator supports rank-1 inputs (dense networks) only");
  let inputs = spec.inputShape[0] as number;
  let offset = 0;
  const steps: DenseStep[] = [];
  spec.layers.forEach((layer, i) => {
    if (layer.type !== "dense") throw new RangeError(`layer ${i} is ${layer.type}: the batched evaluator supports dense layers only`);
    const kernelOffset = offset;
    offset += inputs * layer.units;
    const biasOffset = layer.useBias === false ? -1 : offset;
    if (biasOffset >= 0) offset += layer.units;
    steps.push({ inputs, units: layer.units, activation: layer.activation ?? "linear", kernelOffset, biasOffset });
    inputs = layer.units;
  });
  const last = steps.at(-1);
  if (last === undefined || last.activation !== "softmax") throw new RangeError("the batched evaluator needs a softmax output layer");
  return { steps, parameters: offset };
}

/** What a gradient on the owner's validation split descends (docs/SCORING.md, twenty-third round). */
export type ReferenceObjective = { readonly kind: "cross-entropy" } | { readonly kind: "soft-accuracy"; readonly temperature: number };
export const CROSS_ENTROPY: ReferenceObjective = { kind: "cross-entropy" };

/** Accuracy and mean cross-entropy of each evaluated model. */
export interface Evaluation {
  readonly accuracy: number[];
  readonly loss: number[];
}

export class BatchEvaluator {
  readonly parameters: number;
  readonly count: number;
  readonly #tf: TF;
  readonly #steps: DenseStep[];
  readonly #x: Tensor2D;
  readonly #labels: Tensor1D;
  readonly #oneHot: Tensor2D;
  readonly #modelsPerBatch: number;

  /** `modelsPerBatch` bounds memory: the first layer's activations are `count x modelsPerBatch x units`. */
  constructor(tf: TF, spec: ModelSpec, dataset: Dataset, modelsPerBatch = 32) {
    const { steps, parameters } = denseSteps(spec);
    this.#tf = tf;
    this.#steps = steps;
    this.parameters = parameters;
    this.count = dataset.count;
    this.#modelsPerBatch = modelsPerBatch;
    const classes = (steps.at(-1) as DenseStep).units;
    this.#x = tf.tensor2d(dataset.features, [dataset.count, (steps[0] as DenseStep).inputs], "float32");
    this.#labels = tf.tensor1d(dataset.labels, "int32");
    this.#oneHot = tf.oneHot(this.#labels, classes).cast("float32") as Tensor2D;
  }

  /** Logits `[M, N, classes]` of the models in `weights` (`[M, D]`). */
  #logits(weights: Tensor2D): Tensor3D {
    const tf = this.#tf;
    const m = weights.shape[0];
    const n = this.count;
    let h: Tensor3D | undefined;
    this.#steps.forEach((step, i) => {
      const kernel = weights.slice([0, step.kernelOffset], [m, step.inputs * step.units]).reshape([m, step.inputs, step.units]) as Tensor3D;
      let z: Tensor3D;
      if (i === 0) {
        // x [N, in] times every model's kernel at once: [in, M * units].
        const wide = kernel.transpose([1, 0, 2]).reshape([step.inputs, m * step.units]) as Tensor2D;
        z = tf.matMul(this.#x, wide).reshape([n, m, step.units]).transpose([1, 0, 2]) as Tensor3D;
      } else {
        z = tf.matMul(h as Tensor3D, kernel) as Tensor3D;
      }
      if (step.biasOffset >= 0) z = tf.add(z, weights.slice([0, step.biasOffset], [m, step.units]).reshape([m, 1, step.units])) as Tensor3D;
      if (i < this.#steps.length - 1) z = activate(tf, z, step.activation, i);
      h = z;
    });
    return h as Tensor3D;
  }

  /** Accuracy and mean cross-entropy of every model (rows of `models`, each `D` floats). */
  evaluate(models: readonly Float32Array[]): Evaluation {
    const tf = this.#tf;
    const accuracy: number[] = [];
    const loss: number[] = [];
    for (let start = 0; start < models.length; start += this.#modelsPerBatch) {
      const batch = models.slice(start, start + this.#modelsPerBatch);
      const flat = new Float32Array(batch.length * this.parameters);
      batch.forEach((w, i) => {
        if (w.length !== this.parameters) throw new RangeError(`model has ${w.length} weights, expected ${this.parameters}`);
        flat.set(w, i * this.parameters);
      });
      const [acc, ce] = tf.tidy(() => {
        const logits = this.#logits(tf.tensor2d(flat, [batch.length, this.parameters]));
        const correct = tf
          .equal(logits.argMax(-1), this.#labels.reshape([1, this.count]))
          .cast("float32")
          .mean(1);
        const xent = tf.neg(
          tf
            .mul(tf.logSoftmax(logits), this.#oneHot.reshape([1, this.count, -1]))
            .sum(-1)
            .mean(1),
        );
        return [correct, xent] as [Tensor, Tensor];
      });
      accuracy.push(...(acc.dataSync() as Float32Array));
      loss.push(...(ce.dataSync() as Float32Array));
      tf.dispose([acc, ce]);
    }
    return { accuracy, loss };
  }

  /**
   * One model's objective and its gradient with respect to the flat weights: the mean
   * cross-entropy, or (`soft-accuracy`) one minus a smoothed accuracy, the mean of
   * `sigmoid(m / temperature)` over the digits, `m` the margin of the true class's logit over the
   * log-sum-exp of the others. The smoothed accuracy weighs each digit by how near its decision
   * boundary it sits, where cross-entropy weighs a hopelessly misclassified digit most.
   */
  lossAndGradient(weights: Float32Array, objective: ReferenceObjective = CROSS_ENTROPY): { loss: number; gradient: Float32Array } {
    const tf = this.#tf;
    const oneHot = this.#oneHot.reshape([1, this.count, -1]);
    const f = (w: Tensor): Tensor => {
      const logits = this.#logits(w.reshape([1, this.parameters]) as Tensor2D);
      if (objective.kind === "soft-accuracy") {
        const own = tf.mul(logits, oneHot).sum(-1);
        const others = tf.logSumExp(tf.add(logits, tf.mul(oneHot, -1e9)), -1);
        return tf.sub(1, tf.sigmoid(tf.div(tf.sub(own, others), objective.temperature)).mean());
      }
      return tf.neg(tf.mul(tf.logSoftmax(logits), oneHot).sum(-1).mean());
    };
    const { value, grad } = tf.tidy(() => tf.valueAndGrad(f)(tf.tensor1d(weights)));
    const out = { loss: (value.dataSync() as Float32Array)[0] as number, gradient: Float32Array.from(grad.dataSync() as Float32Array) };
    tf.dispose([value, grad]);
    return out;
  }

  dispose(): void {
    this.#tf.dispose([this.#x, this.#labels, this.#oneHot]);
  }
}

function activate(tf: TF, z: Tensor3D, activation: string, layer: number): Tensor3D {
  switch (activation) {
    case "relu":
      return tf.relu(z);
    case "sigmoid":
      return tf.sigmoid(z);
    case "tanh":
      return tf.tanh(z);
    case "linear":
      return z;
    default:
      throw new RangeError(`layer ${layer}: activation ${activation} is not supported by the batched evaluator`);
  }
}
