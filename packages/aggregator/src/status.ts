/**
 * `fedmarket-aggregator status`: where a round stands, from the chain (the open round's counts
 * and deadlines) and from the data folder (which step files exist). It only reads: nothing is
 * sent, written or proven. It needs only a marketplace client (a provider-backed one, without a
 * signer, will do) and the data folder: no Ethereum key, no seal key, no lock. Reading while a
 * `run` works on the same folder is safe, since every step file is written atomically (store.ts).
 */
import type { FedMarketClient } from "@fedmarket/protocol";
import { readJson, RoundFiles } from "./store.ts";
import type { SlotsFile } from "./steps/collect.ts";
import type { RoundFile } from "./steps/compute.ts";
import type { FlagsFile } from "./steps/flag.ts";
import type { OpeningsFile } from "./steps/open.ts";
import type { ModelFile } from "./steps/pin.ts";
import type { DoneFile, TxsFile } from "./steps/settle.ts";

/** What `roundStatus` reads: the chain's view of the open round and the data folder's round files. */
export interface StatusSource {
  /** The marketplace (read only: a client without a signer will do). */
  readonly client: Pick<FedMarketClient, "getOpenRound">;
  /** The data folder: round folders `p<project>/r<round>/`. */
  readonly dataDir: string;
}

/** What the data folder and the chain say about a round (default: the open one). */
export async function roundStatus(source: StatusSource, projectId: bigint, round?: number): Promise<Record<string, unknown>> {
  const { project, round: open, chainTime } = await source.client.getOpenRound(projectId);
  const r = round ?? open.round;
  const files = new RoundFiles(source.dataDir, projectId, r);
  const [slots, openings, flags, roundFile, model, txs, done] = await Promise.all([
    files.read<SlotsFile>("slots.json"),
    files.read<OpeningsFile>("openings.json"),
    files.read<FlagsFile>("flags.json"),
    files.read<RoundFile>("round.json"),
    files.read<ModelFile>("model.json"),
    files.read<TxsFile>("txs.json"),
    files.read<DoneFile>("done.json"),
  ]);
  let proofs = 0;
  if (roundFile !== undefined) {
    for (let j = 0; j < roundFile.chunks; j++) if ((await readJson(files.chunkProofFile(j))) !== undefined) proofs++;
    if ((await readJson(files.decisionProofFile())) !== undefined) proofs++;
  }
  const step = stepName({ slots, openings, flags, roundFile, model, txs, done, proofs });
  const answered = new Set(flags?.answered ?? []);
  const isOpen = r === open.round;
  return {
    project: projectId,
    status: project.statusName,
    openRound: open.round,
    round: r,
    chainTime,
    submissionDeadline: isOpen ? open.submissionDeadline : undefined,
    aggregationDeadline: isOpen ? open.aggregationDeadline : undefined,
    submissions: isOpen ? open.submissions : slots?.slots.length,
    chunksVerifiedOnChain: isOpen ? open.chunksVerified : undefined,
    step,
    // Slots not opened from IPFS, with the codec's reason: not decoded (status 3), or not available
    // (flagged on chain: empty unless answered, when they are opened from the published data).
    excluded: openings?.openings.flatMap((o) =>
      o.status === "opened" || answered.has(o.slot) ? [] : [{ slot: o.slot, reason: o.reason }],
    ),
    flags:
      flags === undefined
        ? undefined
        : {
            flagged: flags.flagged,
            txHash: flags.txHash,
            answerDeadline: flags.answerDeadline,
            answered: flags.answered,
            unanswered: flags.pending,
            unprovable: flags.unprovable,
          },
    slotStatus: roundFile?.status,
    scores: roundFile?.scores,
    modelCid: model?.cid,
    txs,
    done,
    dataDir: files.dir,
  };
}

/** The last step whose file exists. */
function stepName(f: {
  slots: SlotsFile | undefined;
  openings: OpeningsFile | undefined;
  flags: FlagsFile | undefined;
  roundFile: RoundFile | undefined;
  model: ModelFile | undefined;
  txs: TxsFile | undefined;
  done: DoneFile | undefined;
  proofs: number;
}): string {
  if (f.done !== undefined) return `done (${f.done.kind})`;
  if (f.txs?.finalize !== undefined) return "finalize sent";
  if (f.model !== undefined) return "pinned";
  if (f.roundFile !== undefined && f.proofs === f.roundFile.chunks + 1) return "proved";
  if (f.roundFile !== undefined) return `proving (${f.proofs}/${f.roundFile.chunks + 1})`;
  if (f.flags?.settled === true) return "flags settled";
  if (f.flags?.unprovable !== undefined) return "unprovable (slots not flagged in time: the round is left to fail)";
  if (f.flags?.answerDeadline !== undefined) return `flagged (answers until chain time ${f.flags.answerDeadline})`;
  if (f.flags !== undefined) return "flag sent";
  if (f.openings !== undefined) return "opened";
  if (f.slots !== undefined) return "collected";
  return "not started";
}
