/**
 * Crash-safe file writes for the nodes' resumable state: after a kill -9 at any instant a file
 * holds either its old or its new content, never a torn mix.
 */
import { mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";

/** Writes `data` to `file` atomically (tmp + fsync + rename + fsync of the folder). */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  try {
    const d = await open(dir, "r");
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* some filesystems cannot fsync a folder */
  }
}
