/** The blob store of the owner commands: a Kubo RPC API (`--ipfs-api`) or embedded Helia (`--ipfs-repo`). */
import path from "node:path";
import { HeliaBlobStore, KuboBlobStore, type BlobStore } from "@fedmarket/protocol";
import { UsageError } from "./connect.ts";

export async function openBlobStore(
  flags: { ipfsApi?: string; ipfsRepo?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<BlobStore> {
  const api = flags.ipfsApi ?? (flags.ipfsRepo === undefined ? env.FEDMARKET_IPFS_API : undefined);
  if (api !== undefined && api !== "") return new KuboBlobStore({ apiUrl: api });
  const repo = flags.ipfsRepo ?? env.FEDMARKET_IPFS_REPO;
  if (repo !== undefined && repo !== "") return HeliaBlobStore.create({ dataDir: path.resolve(repo) });
  throw new UsageError(
    "no IPFS: pass --ipfs-api <url> (a Kubo RPC API, e.g. `fedmarket ipfs serve`) or --ipfs-repo <dir> (embedded node), or set FEDMARKET_IPFS_API / FEDMARKET_IPFS_REPO",
  );
}
