/**
 * The free-rider rule (@fedmarket/core `replaysGlobalDelta`) applied to a round's openings.
 *
 * The last global delta is rebuilt from public data only, by @fedmarket/protocol's
 * `lastGlobalDelta` over the project's `RoundOpened` history (the node's step 3 passes it here);
 * the owner's audit derives it with the same function, so both judge the same vector.
 */
import { replaysGlobalDelta } from "@fedmarket/core";
import type { SlotOpening } from "./steps/open.ts";

/** Marks every opened update that replays `delta` as excluded (reason `replayed-global-delta`). */
export function excludeReplays(openings: readonly SlotOpening[], delta: readonly bigint[] | undefined): SlotOpening[] {
  if (delta === undefined) return [...openings];
  return openings.map((o) => {
    if (o.status !== "opened" || !replaysGlobalDelta(o.update.map(BigInt), delta)) return o;
    const { update: _update, salt: _salt, status: _status, ...slot } = o;
    return {
      ...slot,
      status: "excluded",
      reason: "replayed-global-delta",
      detail: "the update is a copy of the previous round's global delta (public), not local training",
    };
  });
}
