/**
 * An embedded IPFS node (Helia) keeping blocks on disk with blockstore-fs, fully offline: no
 * libp2p, no bootstrap peers, no routers or block brokers (`createHeliaLight`). Blobs added here
 * have the same CIDs as on Kubo; publish them by pinning the CIDs on a reachable Kubo node or
 * gateway (see kubo-blob-store.ts). Starts in milliseconds.
 *
 * Data folder layout: `<dataDir>/blocks/` (blockstore-fs, one file per block). The datastore
 * (pins, metadata) is in memory: nothing is ever garbage-collected by this code, so blocks stay.
 */
import { createHeliaLight, type Helia } from "helia";
import { unixfs, type UnixFS } from "@helia/unixfs";
import { FsBlockstore } from "blockstore-fs";
import path from "node:path";
import {
  BlobNotFoundError,
  collect,
  fetchWithRetries,
  KUBO_COMPATIBLE_IMPORT,
  parseCid,
  verifyCid,
  type BlobStore,
  type FetchOptions,
} from "./blob-store.ts";

export interface HeliaBlobStoreOptions {
  /** Folder for the node's data (created if missing). */
  readonly dataDir: string;
}

export class HeliaBlobStore implements BlobStore {
  readonly helia: Helia;
  readonly dataDir: string;
  readonly #fs: UnixFS;

  private constructor(helia: Helia, dataDir: string) {
    this.helia = helia;
    this.dataDir = dataDir;
    this.#fs = unixfs(helia);
  }

  /** Opens the blockstore under `dataDir` and starts the node. */
  static async create(options: HeliaBlobStoreOptions): Promise<HeliaBlobStore> {
    const blockstore = new FsBlockstore(path.join(options.dataDir, "blocks"));
    // No datastore given: Helia keeps its datastore (pins, metadata) in memory.
    const helia = createHeliaLight({ blockstore });
    await helia.start();
    return new HeliaBlobStore(helia, options.dataDir);
  }

  async put(bytes: Uint8Array): Promise<string> {
    const cid = await this.#fs.addBytes(bytes, KUBO_COMPATIBLE_IMPORT);
    if (!(await this.helia.pins.isPinned(cid))) {
      for await (const _ of this.helia.pins.add(cid)) {
        /* walks and pins every block */
      }
    }
    return cid.toString();
  }

  async get(cid: string, options: FetchOptions = {}): Promise<Uint8Array> {
    const parsed = parseCid(cid);
    return fetchWithRetries(
      cid,
      async (signal) => {
        let bytes: Uint8Array;
        try {
          bytes = await collect(this.#fs.cat(parsed, { signal, offline: true }), signal);
        } catch (err) {
          const e = err as Error;
          if (e.name === "InvalidConfigurationError" || e.name === "NotFoundError" || e.name === "BlockNotFoundWhileOfflineError") {
            throw new BlobNotFoundError(cid, `not in the local blockstore ${this.dataDir} (offline node): ${e.message}`);
          }
          throw err;
        }
        await verifyCid(cid, bytes);
        return bytes;
      },
      options,
    );
  }

  async close(): Promise<void> {
    await this.helia.stop();
  }
}
