/**
 * Step 3 of a round: the producer's update (honest: local training on the trainer's data), saved as
 * `delta.fmw` (phase `trained`); or, for a producer that names a ready submission, that submission
 * (phase `pinned`: sealing and pinning are skipped).
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { encodeWeights, writeFileAtomic, type ProjectInfo } from "@fedmarket/protocol";
import type { RoundEntry } from "../state.ts";
import type { TrainerNodeOptions } from "../types.ts";
import type { RoundInput, UpdateProducer } from "../update-producer.ts";

/** Step 3: the producer's update, saved (`trained`). */
export async function produceUpdate(
  o: TrainerNodeOptions,
  producer: UpdateProducer,
  p: ProjectInfo,
  round: number,
  input: RoundInput,
): Promise<void> {
  const produced = await producer.produce(input);
  const dir = o.state.roundDir(p.id, round);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, "delta.fmw"), encodeWeights(produced.delta));
  await o.state.update(p.id, round, {
    phase: "trained",
    ephemeralSecret: undefined, // a new delta is sealed under a fresh secret (steps/seal.ts)
    samples: produced.samples,
    ...(produced.finalLoss === undefined ? {} : { finalLoss: produced.finalLoss }),
    ...(produced.note === undefined ? {} : { note: produced.note }),
  });
}

/** A producer that names a ready submission (`adopt`) skips training, sealing and pinning (`pinned`). */
export async function adoptReadySubmission(
  o: TrainerNodeOptions,
  producer: UpdateProducer,
  p: ProjectInfo,
  round: number,
  input: RoundInput,
): Promise<RoundEntry | undefined> {
  const ready = await producer.adopt?.(input);
  if (ready === undefined) return undefined;
  return o.state.update(p.id, round, { phase: "pinned", commitment: ready.commitment.toString(), cid: ready.cid });
}
