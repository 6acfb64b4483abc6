/** Step 5 of a round: pin the sealed update to IPFS (`pinned`, CID). */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { ProjectInfo } from "@fedmarket/protocol";
import { TrainerNodeError } from "../errors.ts";
import type { TrainerNodeOptions } from "../types.ts";

/** Step 5: pin the sealed update. */
export async function pinUpdate(o: TrainerNodeOptions, p: ProjectInfo, round: number): Promise<void> {
  const envelope = await readFile(path.join(o.state.roundDir(p.id, round), "update.fmev"));
  const bar = o.logger.progress("upload", envelope.length, "bytes");
  let cid: string;
  try {
    cid = await o.store.put(new Uint8Array(envelope));
  } catch (err) {
    bar.stop();
    throw new TrainerNodeError(
      "ipfs",
      `cannot pin the update to ${o.storeName}: ${(err as Error).message}. Is IPFS reachable? The update is kept; run again to retry`,
      { cause: err },
    );
  }
  bar.update(envelope.length);
  bar.stop();
  await o.state.update(p.id, round, { phase: "pinned", cid });
  o.logger.log("info", "round.pinned", `round ${round}: update pinned as ${cid}`, { projectId: p.id, round, cid });
}
