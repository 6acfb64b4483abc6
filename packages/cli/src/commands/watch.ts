/**
 * `fedmarket watch`: the watcher of a project's optimistic rounds (@fedmarket/audit `watchOnce`).
 * Every poll it checks each round still open to challenge against the chunk proofs its aggregator
 * pinned, challenges what they do not prove (paying the project's challenge deposit) and voids a
 * round whose challenge went unanswered. It stops when nothing is left to watch (or after one pass
 * with `--once`). Exit 0 when it stopped, 2 when it could not run.
 */
import type { Command } from "commander";
import { createLogger, FedMarketClient, sleep, type BlobStore } from "@fedmarket/protocol";
import { watchOnce } from "@fedmarket/audit";
import { connectSigner } from "../owner/connect.ts";
import { openBlobStore } from "../owner/store.ts";
import { fail, jsonText, parseCount } from "./common.ts";
import { resolveProjectLocation, withProjectLocation, type ProjectLocationFlags } from "./project-location.ts";

interface WatchFlags extends ProjectLocationFlags {
  keystore?: string;
  pollInterval: string;
  once?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  withProjectLocation(
    program
      .command("watch")
      .description(
        "watch a project's optimistic rounds: challenge a round its pinned chunk proofs do not prove, void one whose challenge went unanswered",
      ),
  )
    .option("--keystore <file>", "the watcher's keystore (password in FEDMARKET_KEYSTORE_PASSWORD) when FEDMARKET_PRIVATE_KEY is not set")
    .option("--poll-interval <ms>", "between passes", parseCount, "15000")
    .option("--once", "one pass, then exit")
    .option("--json", "print each pass's actions as JSON lines on stdout")
    .addHelpText(
      "after",
      `
The watcher's account pays each challenge's deposit (the project's challengeDeposit, returned with half the
aggregator's slashed stake if the round is voided, lost to the aggregator if it answers) and the gas.

Example:
  FEDMARKET_PRIVATE_KEY=0x... fedmarket watch --market 0x5FbD... --project 1 --ipfs-api http://127.0.0.1:5001`,
    )
    .action(async (flags: WatchFlags, cmd: Command) => {
      let store: BlobStore | undefined;
      const logger = createLogger({ json: false, out: process.stderr });
      try {
        const { market, project, fromBlock, rpcUrl } = await resolveProjectLocation(flags);
        const { provider, signer } = await connectSigner(rpcUrl, flags.keystore);
        store = await openBlobStore(flags);
        try {
          const client = new FedMarketClient(market, signer);
          for (;;) {
            const pass = await watchOnce({
              client,
              projectId: BigInt(project),
              store,
              logger,
              ...(fromBlock === undefined ? {} : { fromBlock }),
            });
            if (flags.json === true) process.stdout.write(`${jsonText(pass)}\n`);
            else for (const a of pass.actions) process.stdout.write(`round ${a.round}: ${a.action}: ${a.detail}\n`);
            if (flags.once === true || !pass.open) break;
            await sleep(Number(flags.pollInterval));
          }
        } finally {
          provider.destroy();
        }
      } catch (err) {
        fail(err, cmd);
        process.exitCode = 2;
      } finally {
        await store?.close();
      }
    });
}
