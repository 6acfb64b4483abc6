/**
 * Malicious trainers as wrappers around the honest update producer (`@fedmarket/trainer`'s
 * `LocalTrainingProducer`), the way Flower wraps a strategy: each wrapper delegates to the producer
 * it wraps and changes only what its attack changes (the data, the delta, or the submission). The
 * trainer node runs them unchanged, so an attack exercises exactly the honest node's pipeline.
 */
import { LocalTrainingProducer, type ProducedUpdate, type RoundInput, type UpdateProducer } from "@fedmarket/trainer";
import { attackDelta, duplicateSubmission, flipLabels, freeRiderDelta, type AttackMode } from "./attacks.ts";

function clip(values: Float32Array, bound: number): Float32Array {
  return values.map((x) => Math.min(bound, Math.max(-bound, x)));
}

/** `sign-flip`, `scale`, `gaussian`: trains honestly, then transforms the delta (clipped like an honest one). */
export class DeltaAttackProducer implements UpdateProducer {
  readonly mode: "sign-flip" | "scale" | "gaussian";
  readonly inner: UpdateProducer;

  constructor(mode: "sign-flip" | "scale" | "gaussian", inner: UpdateProducer = new LocalTrainingProducer()) {
    this.mode = mode;
    this.inner = inner;
  }

  async produce(input: RoundInput): Promise<ProducedUpdate> {
    const honest = await this.inner.produce(input);
    const delta = attackDelta(this.mode, honest.delta, { seed: input.seed, clipBound: input.spec.quantization.clipBound });
    input.logger.log("warn", "attack", `round ${input.round}: ATTACK ${this.mode} applied to the update`, {
      projectId: input.projectId,
      round: input.round,
      attack: this.mode,
    });
    return { ...honest, delta };
  }
}

/** `label-flip`: trains honestly on the local data with every label `y` replaced by `(C - 1) - y`. */
export class LabelFlipProducer implements UpdateProducer {
  readonly inner: UpdateProducer;

  constructor(inner: UpdateProducer = new LocalTrainingProducer()) {
    this.inner = inner;
  }

  produce(input: RoundInput): Promise<ProducedUpdate> {
    input.logger.log("warn", "attack", `round ${input.round}: ATTACK label-flip: training on flipped labels`, {
      projectId: input.projectId,
      round: input.round,
      attack: "label-flip",
    });
    return this.inner.produce({ ...input, loadDataset: async () => flipLabels(await input.loadDataset(), input.spec.labels.length) });
  }
}

/**
 * `free-rider`: never trains; a zero update, or a replay of the last global delta once the model
 * changed. The proven rule counts and pays neither (a zero update; a replay at cosine >= 99/100 with
 * the last delta, core `isReplay`).
 */
export class FreeRiderProducer implements UpdateProducer {
  async produce(input: RoundInput): Promise<ProducedUpdate> {
    const last = await input.lastGlobalDelta();
    const delta = clip(freeRiderDelta(input.summary.parameters, last), input.spec.quantization.clipBound);
    input.logger.log(
      "warn",
      "attack",
      `round ${input.round}: ATTACK free-rider: ${last === undefined ? "zero update" : "copy of the last global delta"}, no training`,
      {
        projectId: input.projectId,
        round: input.round,
        attack: "free-rider",
      },
    );
    return { delta, samples: 0, note: "attack free-rider" };
  }
}

/**
 * `duplicate`: would adopt another trainer's commitment and CID of this round, but only revealed
 * updates are public and none is revealed while the commit window is open (the only time it can
 * commit): it finds nothing to copy and fails clearly, before anything is sent. Copying another
 * trainer's *sealed* commitment instead would be refused at the reveal (`RevealMismatch`: a seal
 * opens only for its sender), and the node seals its own opening anyway.
 */
export class DuplicateProducer implements UpdateProducer {
  readonly inner: UpdateProducer;

  constructor(inner: UpdateProducer = new LocalTrainingProducer()) {
    this.inner = inner;
  }

  produce(input: RoundInput): Promise<ProducedUpdate> {
    return this.inner.produce(input);
  }

  async adopt(input: RoundInput): Promise<{ commitment: bigint; cid: string }> {
    let copy;
    try {
      copy = duplicateSubmission(await input.submissions(), input.trainer);
    } catch (err) {
      throw new Error(
        `round ${input.round}: ${(err as Error).message}; under commit-reveal a copier has nothing to copy when it must commit, and nothing was sent`,
        { cause: err },
      );
    }
    input.logger.log(
      "warn",
      "attack",
      `round ${input.round}: ATTACK duplicate: copying commitment ${copy.commitment.toString().slice(0, 12)}... and ${copy.cid}`,
      {
        projectId: input.projectId,
        round: input.round,
        attack: "duplicate",
      },
    );
    return copy;
  }
}

/** The producer of a named attack mode wrapped around `honest` (default: local training). */
export function attackProducer(mode: AttackMode, honest: UpdateProducer = new LocalTrainingProducer()): UpdateProducer {
  switch (mode) {
    case "sign-flip":
    case "scale":
    case "gaussian":
      return new DeltaAttackProducer(mode, honest);
    case "label-flip":
      return new LabelFlipProducer(honest);
    case "free-rider":
      return new FreeRiderProducer();
    case "duplicate":
      return new DuplicateProducer(honest);
  }
}
