/**
 * What a trainer submits each round comes from an `UpdateProducer`: the honest one trains on the
 * local data (`LocalTrainingProducer`). The node itself only orchestrates (download, check, seal,
 * pin, submit); it never decides *what* the update is. That seam is where the testkit's attack
 * wrappers plug in, the way Flower wraps a strategy: a wrapper delegates to the honest producer
 * and changes only what it must (`@fedmarket/testkit`), so the honest node has no attack branches.
 */
import {
  formatHyperParams,
  trainingForRound,
  type HyperParams,
  type ModelSpec,
  type ModelSummary,
  type NodeLogger,
} from "@fedmarket/protocol";
import { NonFiniteUpdateError, trainLocally, type BackendInfo, type Dataset } from "@fedmarket/ml";
import { TrainerNodeError } from "./errors.ts";

/** A submission as it appears on chain: a commitment and the CID of the (encrypted) update. */
export interface PublicSubmission {
  readonly trainer: string;
  readonly commitment: bigint;
  readonly cid: string;
}

/** Everything a producer may use for one round. Data and public chain history are loaded lazily. */
export interface RoundInput {
  readonly projectId: bigint;
  readonly round: number;
  /** The trainer's own address. */
  readonly trainer: string;
  readonly spec: ModelSpec;
  readonly summary: ModelSummary;
  /** The round's global model (the trainable parameters), checked against its on-chain commitment. */
  readonly globalWeights: Float32Array;
  /** The weights of the spec's frozen layers (`spec.frozenWeights`, verified by CID); undefined when nothing is frozen. */
  readonly frozenWeights?: Float32Array;
  /** The round's on-chain hyper-parameters. */
  readonly hyperParams: HyperParams;
  /** Seed of this round's shuffles (the configured seed, else the round number). */
  readonly seed: number;
  readonly logger: NodeLogger;
  /** The local data set, loaded once and checked against the spec. */
  loadDataset(): Promise<Dataset>;
  /** The TensorFlow.js backend, selected once. */
  backend(): Promise<BackendInfo>;
  /** `g_r - g_{r-1}` from the public RoundOpened history, once the model has changed. */
  lastGlobalDelta(): Promise<Float32Array | undefined>;
  /** The round's revealed updates so far (public `UpdateRevealed` events), in slot order: empty while the commit window is open, so nothing can be copied into a commitment. */
  submissions(): Promise<readonly PublicSubmission[]>;
}

/** A float update (`local - global`, clipped) and what the node records about it. */
export interface ProducedUpdate {
  readonly delta: Float32Array;
  /** Samples trained on (0 when nothing was trained). */
  readonly samples: number;
  readonly finalLoss?: number;
  /** A note for the state file (e.g. why nothing was trained). */
  readonly note?: string;
}

/** Produces a round's update. `adopt` may instead name a ready submission (the node then sends it as is). */
export interface UpdateProducer {
  produce(input: RoundInput): Promise<ProducedUpdate>;
  adopt?(input: RoundInput): Promise<Omit<PublicSubmission, "trainer"> | undefined>;
}

/** The honest producer: local training on the trainer's data with the round's on-chain hyper-parameters. */
export class LocalTrainingProducer implements UpdateProducer {
  async produce(input: RoundInput): Promise<ProducedUpdate> {
    const { projectId, round, spec, logger } = input;
    const dataset = await input.loadDataset();
    const { tf } = await input.backend();
    // The round's hyper-parameters are on chain (the aggregator may have decayed the learning
    // rate within the project's bounds); the spec's training values only seed round 0.
    const training = trainingForRound(spec.training, input.hyperParams);
    logger.log(
      "info",
      "round.hyperparams",
      `round ${round}: training with the round's on-chain hyper-parameters: ${formatHyperParams(input.hyperParams)}`,
      {
        projectId,
        round,
        learningRate: training.learningRate,
        epochs: training.epochs,
        batchSize: training.batchSize,
      },
    );
    const batches = Math.ceil(dataset.count / training.batchSize) * training.epochs;
    const bar = logger.progress("training", batches, "batches");
    let done = 0;
    let result;
    try {
      result = await trainLocally({
        tf,
        spec: { ...spec, training },
        globalWeights: input.globalWeights,
        ...(input.frozenWeights === undefined ? {} : { frozenWeights: input.frozenWeights }),
        dataset,
        seed: input.seed,
        onProgress: (pr) => {
          if (pr.phase === "batch") {
            done++;
            bar.update(done, { info: `epoch ${pr.epoch + 1}/${pr.epochs} loss ${pr.loss.toFixed(4)}` });
          } else
            logger.log("debug", "train.epoch", `epoch ${pr.epoch + 1}/${pr.epochs}: loss ${pr.loss.toFixed(4)}`, {
              epoch: pr.epoch,
              loss: pr.loss,
            });
        },
      });
    } catch (err) {
      if (err instanceof NonFiniteUpdateError) {
        throw new TrainerNodeError("non-finite", `${err.message}; nothing was published. Check the data and the spec's learning rate`, {
          cause: err,
        });
      }
      throw err;
    } finally {
      bar.stop();
    }
    const finalLoss = result.epochLosses.at(-1) ?? Number.NaN;
    logger.log(
      "info",
      "round.trained",
      `round ${round}: trained on ${result.samples} samples, ${result.epochs} epoch(s), loss ${finalLoss.toFixed(4)}, ${Math.round(result.samplesPerSecond)} samples/s (${result.backend}); ${result.clippedCount} coordinates clipped`,
      {
        projectId,
        round,
        samples: result.samples,
        loss: finalLoss,
        samplesPerSecond: result.samplesPerSecond,
        clipped: result.clippedCount,
      },
    );
    return { delta: result.delta, samples: result.samples, finalLoss };
  }
}
