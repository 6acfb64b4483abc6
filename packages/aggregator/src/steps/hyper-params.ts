/**
 * The next round's hyper-parameters, published with `finalizeRound`: the open round's values with
 * the learning rate multiplied by the `--lr-decay` factor, clamped to the project's on-chain
 * bounds (epochs and batch size kept). They are not part of the proof; the contract only checks
 * the bounds. The choice is written to `hyperparams.json` before the first finalize attempt, so a
 * restart (even with another `--lr-decay`) submits exactly the same values.
 *
 * The project's last round opens no next round, but `finalizeRound` still checks the values against
 * the bounds: it gets the open round's (in bounds, the contract checked them when they were set),
 * and nothing is announced for a round that will never train.
 */
import {
  decayedHyperParams,
  formatHyperParams,
  hyperParamOutOfBounds,
  type HyperParams,
  type NodeLogger,
  type ProjectInfo,
} from "@fedmarket/protocol";
import type { RoundFiles } from "../store.ts";

/** `hyperparams.json`. */
export interface HyperParamsFile {
  readonly round: number;
  readonly lrDecay: number;
  readonly current: HyperParams;
  readonly next: HyperParams;
}

export async function nextRoundHyperParams(
  project: Pick<ProjectInfo, "numRounds" | "hyperParams" | "minHyperParams" | "maxHyperParams">,
  round: number,
  lrDecay: number,
  files: RoundFiles,
  log: NodeLogger,
): Promise<HyperParams> {
  const have = await files.read<HyperParamsFile>("hyperparams.json");
  if (have !== undefined) {
    // Bounds never change after creation, so a recorded choice stays valid.
    if (hyperParamOutOfBounds(have.next, project.minHyperParams, project.maxHyperParams) === undefined) return have.next;
    log.log("warn", "hyperparams.stale", `${files.file("hyperparams.json")} holds values outside the project's bounds; choosing again`, {
      round,
    });
  }
  if (round + 1 >= project.numRounds) {
    // no round follows: the open round's values only have to pass finalizeRound's bounds check
    const next = project.hyperParams;
    await files.write("hyperparams.json", { round, lrDecay, current: project.hyperParams, next } satisfies HyperParamsFile);
    log.log("info", "round.hyperparams", `round ${round} is the last round: no next-round hyper-parameters`, {
      round,
      numRounds: project.numRounds,
      lastRound: true,
    });
    return next;
  }
  const next = decayedHyperParams(project.hyperParams, lrDecay, project.minHyperParams, project.maxHyperParams);
  await files.write("hyperparams.json", { round, lrDecay, current: project.hyperParams, next } satisfies HyperParamsFile);
  const clamped = lrDecay !== 1 && next.learningRateMicros !== Math.round(project.hyperParams.learningRateMicros * lrDecay);
  log.log(
    "info",
    "round.hyperparams",
    `round ${round + 1} will train with ${formatHyperParams(next)} (round ${round}: ${formatHyperParams(project.hyperParams)}, decay x${lrDecay}${clamped ? ", clamped to the project's bounds" : ""})`,
    {
      round,
      lrDecay,
      current: project.hyperParams,
      next,
    },
  );
  return next;
}
