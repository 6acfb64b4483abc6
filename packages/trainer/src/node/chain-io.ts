/**
 * What every step of the trainer node reads from outside: the project (an unknown id is a clear
 * error), blobs by CID (an unreachable IPFS node is a clear error) and the model spec.
 */
import {
  blobFetchOptions,
  BlobStoreError,
  parseModelSpec,
  ProjectStatus,
  type ModelSpec,
  type ModelSummary,
  type ProjectInfo,
} from "@fedmarket/protocol";
import { TrainerNodeError } from "./errors.ts";
import type { Checkpoint, TrainerNodeOptions } from "./types.ts";

/** A parsed model spec and the text it was parsed from. */
export interface DownloadedSpec {
  readonly spec: ModelSpec;
  readonly summary: ModelSummary;
  readonly specText: string;
}

/** Runs the checkpoint hook (tests simulate a crash there). */
export async function checkpoint(o: TrainerNodeOptions, name: Checkpoint): Promise<void> {
  await o.onCheckpoint?.(name);
}

export async function projectOrThrow(o: TrainerNodeOptions, projectId: bigint): Promise<ProjectInfo> {
  const p = await o.client.getProject(projectId);
  if (p.status === ProjectStatus.None) {
    throw new TrainerNodeError(
      "unknown-project",
      `project ${projectId} does not exist on the marketplace ${o.client.address} (chain ${o.chainId}): check --project, --market and --rpc-url`,
    );
  }
  return p;
}

export async function fetchBlob(o: TrainerNodeOptions, cid: string, what: string): Promise<Uint8Array> {
  try {
    return await o.store.get(cid, blobFetchOptions(o));
  } catch (err) {
    if (err instanceof BlobStoreError) {
      throw new TrainerNodeError(
        "ipfs",
        `cannot download the ${what} ${cid} from ${o.storeName}: ${err.message}. Is IPFS reachable? Check --ipfs-api (or --ipfs-repo) and that the blob is pinned`,
        { cause: err },
      );
    }
    throw err;
  }
}

export async function downloadSpec(o: TrainerNodeOptions, p: ProjectInfo): Promise<DownloadedSpec> {
  const specText = new TextDecoder().decode(await fetchBlob(o, p.specCid, "model spec"));
  const { spec, summary } = parseModelSpec(specText, `model spec ${p.specCid}`);
  return { spec, summary, specText };
}
