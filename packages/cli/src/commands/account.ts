/**
 * `fedmarket balance` and `fedmarket withdraw`: an account's credit at the marketplace, for any
 * role (owner refunds, aggregator bonds and slashes, trainer rewards). The contract keeps one credit
 * per (token, account) for all projects together, so both commands say "account-wide, all projects".
 */
import type { Command } from "commander";
import { ZeroAddress, type TransactionReceipt } from "ethers";
import { ETH_TOKEN, FedMarketClient, fedMarketInterface, isUnreachable, MarketRevertError } from "@fedmarket/protocol";
import { formatAmount, unitOf, type AmountUnit } from "../owner/amount.ts";
import { connectRpc, loadOwnerWallet, UsageError } from "../owner/connect.ts";
import { tokenDecimals } from "../owner/project.ts";
import { fail, jsonText, parseAddress, parseProjectId } from "./common.ts";
import { marketTarget } from "./project.ts";

interface AccountFlags {
  rpcUrl?: string;
  market?: string;
  projectFile?: string;
  keystore?: string;
  token?: string;
  account?: string;
  project?: string;
  dryRun?: boolean;
  json?: boolean;
}

export const CREDIT_LABEL = "credit (account-wide, all projects)";

function options(cmd: Command): Command {
  return cmd
    .option("--rpc-url <url>", "JSON-RPC endpoint (env FEDMARKET_RPC_URL; default http://127.0.0.1:8545)")
    .option("--market <address>", "FedMarket address (env FEDMARKET_MARKET)", parseAddress)
    .option("--project-file <file>", "read the market and RPC URL from the project.json of `project create`")
    .option("--keystore <file>", "keystore (password in FEDMARKET_KEYSTORE_PASSWORD) when FEDMARKET_PRIVATE_KEY is not set")
    .option("--token <address>", "ERC-20 token of the credit (default ETH)", parseAddress)
    .option("--json", "print JSON");
}

/** Amount withdrawn according to the receipt's `Withdrawn` event (the whole credit at execution time). */
export function withdrawnIn(receipt: Pick<TransactionReceipt, "logs">): bigint | undefined {
  for (const log of receipt.logs) {
    try {
      const parsed = fedMarketInterface.parseLog(log);
      if (parsed?.name === "Withdrawn") return BigInt(parsed.args[2] as bigint);
    } catch {
      // another contract's log
    }
  }
  return undefined;
}

async function unitFor(client: FedMarketClient, token: string): Promise<AmountUnit> {
  if (token === ZeroAddress) return unitOf(token, 18);
  try {
    return unitOf(token, await tokenDecimals(client.provider, token));
  } catch (err) {
    if (isUnreachable(err)) throw err;
    throw new UsageError(`--token ${token} is not an ERC-20 token on this chain (its decimals() call failed)`);
  }
}

/** The credit, withdrawn unless `dryRun`. */
async function withdraw(flags: AccountFlags, dryRun: boolean): Promise<void> {
  const { market, rpcUrl } = await marketTarget(flags);
  const wallet = await loadOwnerWallet(flags.keystore);
  const { provider } = await connectRpc(rpcUrl);
  try {
    const signer = wallet.connect(provider);
    const client = new FedMarketClient(market, signer);
    await client.checkNetwork();
    const token = flags.token ?? ETH_TOKEN;
    const unit = await unitFor(client, token);
    const credit = await client.creditOf(token, signer.address);
    const out: Record<string, unknown> = { account: signer.address, token, credit };
    const lines = [`${CREDIT_LABEL} of ${signer.address}: ${formatAmount(credit, unit)}`];
    if (credit === 0n) lines.push("nothing to withdraw");
    else if (dryRun)
      lines.push(`dry run: nothing sent; \`fedmarket withdraw${flags.token === undefined ? "" : ` --token ${token}`}\` withdraws it`);
    else {
      let receipt: TransactionReceipt | undefined;
      try {
        receipt = await client.wait(await client.withdraw(token));
      } catch (err) {
        // another transaction withdrew the credit between the read and this one
        if (!(err instanceof MarketRevertError && err.errorName === "NothingToWithdraw")) throw err;
      }
      if (receipt === undefined) {
        out.credit = 0n;
        lines.push("nothing to withdraw (the credit was withdrawn meanwhile)");
      } else {
        const withdrawn = withdrawnIn(receipt) ?? credit;
        Object.assign(out, { withdrawn, txHash: receipt.hash });
        lines.push(`withdrew ${formatAmount(withdrawn, unit)} to ${signer.address} (tx ${receipt.hash})`);
      }
    }
    write(flags, out, lines);
  } finally {
    provider.destroy();
  }
}

function write(flags: AccountFlags, out: Record<string, unknown>, lines: readonly string[]): void {
  process.stdout.write(flags.json === true ? `${jsonText(out)}\n` : `${lines.join("\n")}\n`);
}

async function balance(flags: AccountFlags): Promise<void> {
  const { market, rpcUrl, file } = await marketTarget(flags);
  let account = flags.account;
  if (account === undefined) {
    try {
      account = (await loadOwnerWallet(flags.keystore)).address;
    } catch (err) {
      if (err instanceof UsageError && err.message.startsWith("no key"))
        throw new UsageError("no account: pass --account 0x..., or set FEDMARKET_PRIVATE_KEY (or --keystore) to use its address");
      throw err;
    }
  }
  const projectId = flags.project ?? (flags.projectFile === undefined ? undefined : file.projectId);
  const { provider, chainId } = await connectRpc(rpcUrl);
  try {
    const client = new FedMarketClient(market, provider);
    await client.checkNetwork();
    const project = projectId === undefined ? undefined : await client.getProject(BigInt(projectId));
    const token = flags.token ?? project?.token ?? ETH_TOKEN;
    const unit = await unitFor(client, token);
    const credit = await client.creditOf(token, account);
    const out: Record<string, unknown> = { account, chainId, market: client.address, token, credit };
    const lines = [`${CREDIT_LABEL} of ${account}: ${formatAmount(credit, unit)}`];
    if (credit > 0n) lines.push(`withdraw it with \`fedmarket withdraw${flags.token === undefined ? "" : ` --token ${token}`}\``);
    if (project !== undefined && token === project.token) {
      const id = project.id;
      const [funder, trainer] = await Promise.all([client.getFunder(id, account), client.getTrainer(id, account)]);
      Object.assign(out, { projectId: id, funderDeposit: funder.deposit, refundable: funder.refundable, stake: trainer.stake });
      if (funder.deposit > 0n)
        lines.push(
          `project ${id}: third-party deposit ${formatAmount(funder.deposit, unit)}, refundable now ${formatAmount(funder.refundable, unit)}` +
            (funder.refundable > 0n ? ` (\`fedmarket project refund --project ${id}\` credits it)` : ""),
        );
      if (trainer.stake > 0n)
        lines.push(
          `project ${id}: trainer stake ${formatAmount(trainer.stake, unit)} (released with \`fedmarket-trainer claim --release-stake\` once the project ended)`,
        );
    }
    write(flags, out, lines);
  } finally {
    provider.destroy();
  }
}

export function register(program: Command): void {
  options(program.command("withdraw"))
    .description(
      "withdraw this account's whole credit at the marketplace (account-wide, all projects: rewards, refunds, bonds), any role; " +
        "--dry-run only shows it",
    )
    .option("--dry-run", "show the credit, send nothing (same as `fedmarket balance`)")
    .addHelpText(
      "after",
      `
The credit is one sum per token for the account, across every project: a trainer's rewards, an owner's
refunds, an aggregator's returned bond. The key comes from FEDMARKET_PRIVATE_KEY or --keystore.

Examples:
  FEDMARKET_PRIVATE_KEY=0x... fedmarket withdraw --market 0x5FbD...
  FEDMARKET_PRIVATE_KEY=0x... fedmarket withdraw --project-file project.json --token 0xA0b8... --dry-run`,
    )
    .action(async (flags: AccountFlags, cmd: Command) => {
      try {
        await withdraw(flags, flags.dryRun === true);
      } catch (err) {
        fail(err, cmd);
      }
    });

  options(program.command("balance"))
    .description("show an account's credit at the marketplace (account-wide, all projects) without withdrawing it")
    .option("--account <address>", "the account (default: the address of FEDMARKET_PRIVATE_KEY / --keystore)", parseAddress)
    .option("-p, --project <id>", "also show this project's refundable third-party deposit and trainer stake", parseProjectId)
    .addHelpText(
      "after",
      `
Examples:
  fedmarket balance --market 0x5FbD... --account 0x7099...
  FEDMARKET_PRIVATE_KEY=0x... fedmarket balance --project-file project.json`,
    )
    .action(async (flags: AccountFlags, cmd: Command) => {
      try {
        await balance(flags);
      } catch (err) {
        fail(err, cmd);
      }
    });
}
