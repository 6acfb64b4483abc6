/**
 * A lock file (`<data>/aggregator.lock`, created with O_EXCL) so two aggregator instances never
 * work on the same data folder at once. It holds the owner's pid and host; a lock whose process
 * no longer exists on this host is stale and is taken over (after `kill -9` the file stays).
 */
import { hostname } from "node:os";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import path from "node:path";

export class LockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LockError";
  }
}

interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface DataLock {
  readonly file: string;
  release(): Promise<void>;
}

/** Takes the lock of `dataDir` or throws `LockError` naming the process that holds it. */
export async function acquireLock(dataDir: string): Promise<DataLock> {
  await mkdir(dataDir, { recursive: true });
  const file = path.join(dataDir, "aggregator.lock");
  const me: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, "wx");
      try {
        await fh.writeFile(JSON.stringify(me));
        await fh.sync();
      } finally {
        await fh.close();
      }
      let released = false;
      return {
        file,
        async release() {
          if (released) return;
          released = true;
          await rm(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let info: LockInfo | undefined;
    try {
      info = JSON.parse(await readFile(file, "utf8")) as LockInfo;
    } catch {
      info = undefined; // being written, or garbage: treat a garbage lock as stale below
    }
    if (info !== undefined && info.host === me.host && alive(info.pid)) {
      throw new LockError(
        `data folder ${dataDir} is in use by another aggregator (pid ${info.pid}, since ${info.startedAt}); stop it first or use another --data folder`,
      );
    }
    if (info !== undefined && info.host !== me.host) {
      throw new LockError(
        `data folder ${dataDir} is locked by pid ${info.pid} on host ${info.host}; if that process is gone, delete ${file}`,
      );
    }
    if (info === undefined && attempt === 0) {
      await new Promise((r) => setTimeout(r, 200)); // maybe mid-write: look again once
      continue;
    }
    await rm(file, { force: true }); // stale: its process is gone
  }
  throw new LockError(`cannot take the lock ${file}; delete it if no aggregator is running`);
}
