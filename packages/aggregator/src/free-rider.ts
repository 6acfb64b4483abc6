/**
 * The free-rider rule (@fedmarket/core `replaysGlobalDelta`) applied to a round's openings.
 *
 * The last global delta is rebuilt from public data only: the project's `RoundOpened` events give
 * every round's model commitment and CID; the latest round whose model differs from the current
 * one holds the model before it. Anyone (the owner's audit in particular) can do the same.
 */
import { globalDelta, replaysGlobalDelta } from "@fedmarket/core";
import { previousModelOpening, type FedMarketClient } from "@fedmarket/protocol";
import type { SlotOpening } from "./collect.ts";

export interface LastDeltaSource {
  readonly client: Pick<FedMarketClient, "roundOpened">;
  readonly projectId: bigint;
  /** The round being aggregated. */
  readonly round: number;
  /** Its (current) global model, quantized, and that model's commitment. */
  readonly currentModel: readonly bigint[];
  readonly currentCommitment: bigint;
  /** Fetches a global model by CID and quantizes it like the current one. */
  readonly fetchModel: (cid: string) => Promise<bigint[]>;
}

/** The last global delta in quantized units, or `undefined` while the model has never changed. */
export async function lastGlobalDelta(src: LastDeltaSource): Promise<bigint[] | undefined> {
  const before = previousModelOpening(await src.client.roundOpened(src.projectId), src.round, src.currentCommitment);
  if (before === undefined) return undefined;
  return globalDelta(src.currentModel, await src.fetchModel(before.modelCid));
}

/** Marks every opened update that replays `delta` as excluded (reason `replayed-global-delta`). */
export function excludeReplays(openings: readonly SlotOpening[], delta: readonly bigint[] | undefined): SlotOpening[] {
  if (delta === undefined) return [...openings];
  return openings.map((o) => {
    if (o.status !== "opened" || !replaysGlobalDelta(o.update.map(BigInt), delta)) return o;
    const { update: _update, salt: _salt, status: _status, ...slot } = o;
    return {
      ...slot, status: "excluded", reason: "replayed-global-delta",
      detail: "the update is a copy of the previous round's global delta (public), not local training",
    };
  });
}
