/**
 * Step 5 of a round: the CID of the sealed update, computed locally (`pinned`, CID), and its upload
 * to IPFS, which waits for the reveal (steps/reveal.ts). The seal of the commit binds the CID, so it
 * must be known before the commit, but the blob itself is only published once the commit window has
 * closed: an IPFS node announces what it pins, and an aggregator watching those announcements
 * must not be able to fetch (and decrypt) an update before every commitment is locked.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { computeCid, type ProjectInfo } from "@fedmarket/protocol";
import { TrainerNodeError } from "../errors.ts";
import type { TrainerNodeOptions } from "../types.ts";
import { SEALED_UPDATE_FILE } from "./seal.ts";

async function sealedUpdate(o: TrainerNodeOptions, p: ProjectInfo, round: number): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path.join(o.state.roundDir(p.id, round), SEALED_UPDATE_FILE)));
}

/** Step 5: fix the CID of the sealed update (nothing is uploaded yet). */
export async function pinUpdate(o: TrainerNodeOptions, p: ProjectInfo, round: number): Promise<void> {
  const cid = await computeCid(await sealedUpdate(o, p, round));
  await o.state.update(p.id, round, { phase: "pinned", cid });
  o.logger.log("info", "round.pinned", `round ${round}: update sealed as ${cid} (uploaded at the reveal)`, { projectId: p.id, round, cid });
}

/**
 * The upload of the sealed update, at the reveal: the store must return the CID the commit sealed.
 * A submission a producer adopted ready-made (`UpdateProducer.adopt`) has no local blob: nothing to upload.
 */
export async function uploadUpdate(o: TrainerNodeOptions, p: ProjectInfo, round: number, cid: string): Promise<void> {
  if (!existsSync(path.join(o.state.roundDir(p.id, round), SEALED_UPDATE_FILE))) return;
  const blob = await sealedUpdate(o, p, round);
  const bar = o.logger.progress("upload", blob.length, "bytes");
  let stored: string;
  try {
    stored = await o.store.put(blob);
  } catch (err) {
    bar.stop();
    throw new TrainerNodeError(
      "ipfs",
      `cannot pin the update to ${o.storeName}: ${(err as Error).message}. Is IPFS reachable? The update is kept; run again to retry before the reveal window closes`,
      { cause: err },
    );
  }
  bar.update(blob.length);
  bar.stop();
  if (stored !== cid) {
    throw new TrainerNodeError(
      "ipfs",
      `${o.storeName} stored the update as ${stored}, but the commitment sealed ${cid}: the store must import blobs as Kubo does (raw leaves, 256 KiB chunks, CIDv1)`,
    );
  }
  o.logger.log("info", "round.uploaded", `round ${round}: update pinned as ${cid}`, { projectId: p.id, round, cid });
}
