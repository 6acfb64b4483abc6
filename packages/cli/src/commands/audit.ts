/**
 * `fedmarket audit`: verify a project from chain logs and IPFS alone. Exit 0 = pass, 1 = a
 * mismatch (each listed), 2 = the audit could not run (arguments, unreachable RPC or IPFS).
 */
import path from "node:path";
import type { Command } from "commander";
import { createLogger, type BlobStore } from "@fedmarket/protocol";
import { auditProject, ipfsCannotRun } from "@fedmarket/audit";
import { connectRpc, UsageError } from "../owner/connect.ts";
import { readX25519KeyFile } from "../owner/key-file.ts";
import { openBlobStore } from "../owner/store.ts";
import { fail, jsonText, parseCount } from "./common.ts";
import { resolveProjectLocation, withProjectLocation, type ProjectLocationFlags } from "./project-location.ts";

interface AuditFlags extends ProjectLocationFlags {
  ownerKeyFile?: string;
  validation?: string;
  out: string;
  json?: boolean;
  vkeyDir?: string;
  blockRange?: string;
  ipfsTimeout?: string;
  labelColumn?: string;
}

export function register(program: Command): void {
  withProjectLocation(
    program
      .command("audit")
      .description(
        "verify every round's proofs, model commitments, payouts and the escrow from chain logs and IPFS; writes audit-report.md and SVG charts",
      ),
  )
    .option("--owner-key-file <file>", "the owner's X25519 key: also decrypt every update and check it opens its commitment")
    .option("--validation <data>", "labelled validation data (IDX folder, CSV, JSON lines, PNG folder): accuracy of every model")
    .option("--label-column <name>", "CSV label column of --validation (default label)")
    .option("--vkey-dir <dir>", "published verification keys (default: contracts/verifiers/generated)")
    .option("--block-range <n>", "blocks per eth_getLogs call (default 2000)", parseCount)
    .option("--ipfs-timeout <ms>", "per-attempt IPFS fetch timeout (default 30000)", parseCount)
    .option("--out <dir>", "where audit-report.md and the charts go", "audit")
    .option("--json", "print the AuditReport as JSON on stdout")
    .addHelpText(
      "after",
      `
Exit codes: 0 pass, 1 fail (every mismatch is listed), 2 could not run.

Example:
  fedmarket audit --market 0x5FbD... --project 1 --ipfs-api http://127.0.0.1:5001 \\
    --owner-key-file owner.x25519 --validation data/test.csv --out audit/`,
    )
    .action(async (flags: AuditFlags, cmd: Command) => {
      let store: BlobStore | undefined;
      const logger = createLogger({ json: false, out: process.stderr, quiet: flags.json === true });
      try {
        const { market, project, fromBlock, rpcUrl } = await resolveProjectLocation(flags);
        const ownerSecretKey =
          flags.ownerKeyFile === undefined
            ? undefined
            : await readX25519KeyFile(flags.ownerKeyFile).catch((err: NodeJS.ErrnoException) => {
                throw new UsageError(
                  `--owner-key-file ${flags.ownerKeyFile}: ${err.code === "ENOENT" ? "no such file (the owner.x25519 that `project create` wrote)" : err.message}`,
                );
              });
        const { provider } = await connectRpc(rpcUrl);
        store = await openBlobStore(flags);
        try {
          let validation;
          if (flags.validation !== undefined) {
            // The spec says what the data must look like; read it through the same store the audit uses.
            const { FedMarketClient, validateModelSpec } = await import("@fedmarket/protocol");
            const { loadDataset } = await import("@fedmarket/ml");
            const p = await new FedMarketClient(market, provider).getProject(BigInt(project));
            const specStore = store;
            const specBytes = await specStore.get(p.specCid).catch((err: unknown) => {
              // An unreachable IPFS is the auditor's outage (exit 2 naming the endpoint), not the project's.
              throw ipfsCannotRun(err, { store: specStore, what: "the model spec", cid: p.specCid }) ?? err;
            });
            const { spec } = validateModelSpec(JSON.parse(new TextDecoder().decode(specBytes)));
            validation = await loadDataset(path.resolve(flags.validation), {
              inputShape: spec.inputShape,
              labels: spec.labels,
              ...(flags.labelColumn === undefined ? {} : { labelColumn: flags.labelColumn }),
            });
          }
          const report = await auditProject({
            provider,
            market,
            projectId: BigInt(project),
            store,
            outDir: path.resolve(flags.out),
            logger,
            ...(ownerSecretKey === undefined ? {} : { ownerSecretKey }),
            ...(validation === undefined ? {} : { validation }),
            ...(flags.vkeyDir === undefined ? {} : { vkeyDir: path.resolve(flags.vkeyDir) }),
            ...(fromBlock === undefined ? {} : { fromBlock }),
            ...(flags.blockRange === undefined ? {} : { blockRange: Number(flags.blockRange) }),
            ...(flags.ipfsTimeout === undefined ? {} : { ipfsTimeoutMs: Number(flags.ipfsTimeout) }),
          });
          if (flags.json === true) process.stdout.write(`${jsonText(report)}\n`);
          else {
            process.stdout.write(
              `audit ${report.verdict.toUpperCase()}: project ${report.project.id}, ${report.rounds.length} round(s), ${report.failures.length} failure(s)\n`,
            );
            for (const f of report.failures) process.stdout.write(`  FAIL ${f}\n`);
            for (const w of report.warnings) process.stdout.write(`  warn ${w}\n`);
            process.stdout.write(`report: ${report.reportFile ?? "-"}\n`);
          }
          process.exitCode = report.verdict === "pass" ? 0 : 1;
        } finally {
          provider.destroy();
        }
      } catch (err) {
        fail(err, cmd);
        // Anything that stopped the audit itself (not a finding) means it could not run.
        process.exitCode = 2;
      } finally {
        await store?.close();
      }
    });
}
