/**
 * `fedmarket ipfs serve`: the embedded IPFS node (Helia, offline, blocks on disk) exposed as a
 * Kubo-RPC-compatible API, so trainers, the aggregator and auditors on this machine share it with
 * `--ipfs-api URL` when no Kubo daemon is available. Runs until SIGINT/SIGTERM, then closes the
 * listener and stops Helia so the blockstore is left consistent.
 */
import path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { createLogger, HeliaBlobStore, reportFailure, startIpfsRpcServer, type IpfsRpcServer, type NodeLogger } from "@fedmarket/protocol";

export interface IpfsServeOptions {
  readonly repo: string;
  readonly host: string;
  readonly port: number;
  readonly json?: boolean;
}

/** Starts serving; resolves when a signal has stopped the node. */
export async function serveIpfs(options: IpfsServeOptions, logger: NodeLogger): Promise<void> {
  const repo = path.resolve(options.repo);
  const store = await HeliaBlobStore.create({ dataDir: repo });
  let server: IpfsRpcServer;
  try {
    server = await startIpfsRpcServer({
      helia: store.helia,
      host: options.host,
      port: options.port,
      onError: (command, err) => logger.log("debug", "ipfs.request-failed", `${command}: ${err.message}`, { command }),
    });
  } catch (err) {
    await store.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE")
      throw new Error(`${options.host}:${options.port} is already in use: stop the other IPFS API or pass --port (0 picks a free one)`);
    throw err;
  }
  logger.log("info", "ipfs.listening", `IPFS RPC API listening on ${server.url} (repo ${repo}); use --ipfs-api ${server.url}`, {
    url: server.url,
    repo,
    blocks: path.join(repo, "blocks"),
  });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  logger.log("info", "ipfs.stopping", `${signal}: stopping the IPFS API`, { signal });
  await server.close();
  await store.close();
  logger.log("info", "ipfs.stopped", "IPFS node stopped");
}

function portOf(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new InvalidArgumentError("expected 0..65535 (0 picks a free port)");
  return port;
}

export function register(program: Command): void {
  const ipfs = program.command("ipfs").description("the embedded IPFS node");
  ipfs
    .command("serve")
    .description("serve the embedded IPFS node (on-disk repo) as a Kubo-RPC-compatible API for --ipfs-api")
    .requiredOption("--repo <dir>", "folder of the node's blocks (created if missing)")
    .option("--host <host>", "interface to bind; the API has no authentication, keep it local", "127.0.0.1")
    .option("--port <port>", "TCP port (0 picks a free one)", portOf, 5001)
    .option("--json", "log JSON lines")
    .action(async (opts: { repo: string; host: string; port: number; json?: boolean }) => {
      const logger = createLogger({ json: opts.json ?? false });
      try {
        await serveIpfs(opts, logger);
      } catch (err) {
        reportFailure(logger, err);
      }
    });
}
