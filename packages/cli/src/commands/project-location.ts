/**
 * Where a project is, for the commands that read one from the chain and IPFS (`audit`, `watch`): the
 * same flags, environment variables and project.json fallbacks, resolved the same way.
 */
import type { Command } from "commander";
import { rpcUrlOf, UsageError } from "../owner/connect.ts";
import { parseAddress, parseCount, parseProjectId } from "./common.ts";
import { readProjectFile } from "./project.ts";

export interface ProjectLocationFlags {
  rpcUrl?: string;
  market?: string;
  project?: string;
  projectFile?: string;
  fromBlock?: string;
  ipfsApi?: string;
  ipfsRepo?: string;
}

/** Adds the location flags (RPC, market, project or project.json, first block, IPFS) to `cmd`. */
export function withProjectLocation(cmd: Command): Command {
  return cmd
    .option("--rpc-url <url>", "JSON-RPC endpoint (env FEDMARKET_RPC_URL; default http://127.0.0.1:8545)")
    .option("--market <address>", "FedMarket address (env FEDMARKET_MARKET)", parseAddress)
    .option("-p, --project <id>", "project id (env FEDMARKET_PROJECT)", parseProjectId)
    .option("--project-file <file>", "read market, project, RPC URL and first block from the project.json of `project create`")
    .option("--from-block <n>", "first block of the event scan (default 0)", parseCount)
    .option("--ipfs-api <url>", "Kubo RPC API (env FEDMARKET_IPFS_API)")
    .option("--ipfs-repo <dir>", "embedded IPFS block folder (env FEDMARKET_IPFS_REPO)");
}

/** The market, project, first block and RPC URL: flags first, then the environment, then project.json. */
export async function resolveProjectLocation(
  flags: ProjectLocationFlags,
): Promise<{ market: string; project: string; fromBlock: number | undefined; rpcUrl: string }> {
  const file = await readProjectFile(flags.projectFile);
  const market = flags.market ?? process.env.FEDMARKET_MARKET ?? file.market;
  if (market === undefined)
    throw new UsageError("the marketplace address is missing: pass --market 0x... (or --project-file) or set FEDMARKET_MARKET");
  const project = flags.project ?? process.env.FEDMARKET_PROJECT ?? file.projectId;
  if (project === undefined || !/^[1-9][0-9]*$/.test(project)) throw new UsageError("the project is missing: pass --project <id>");
  const fromBlock = flags.fromBlock === undefined ? file.createdBlock : Number(flags.fromBlock);
  const rpcUrl = rpcUrlOf(flags.rpcUrl ?? (process.env.FEDMARKET_RPC_URL === undefined ? file.rpcUrl : undefined));
  return { market, project, fromBlock, rpcUrl };
}
