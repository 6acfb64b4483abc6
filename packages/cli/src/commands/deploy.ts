/** `fedmarket deploy`: FedMarket + a round verifier with Hardhat Ignition. */
import path from "node:path";
import { Option, type Command } from "commander";
import { connectRpc, loadOwnerWallet, rpcUrlOf, UsageError } from "../owner/connect.ts";
import { deployContracts, VERIFIER_KINDS, type VerifierKind } from "../owner/deploy.ts";
import { fail, jsonText, writeJson } from "./common.ts";

interface DeployFlags {
  rpcUrl?: string;
  keystore?: string;
  verifier: VerifierKind;
  out?: string;
  kMax?: string;
  chunk?: string;
  deploymentDir?: string;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command("deploy")
    .description(
      "deploy the marketplace and a round verifier with Hardhat Ignition (local chain or a testnet); prints the addresses as JSON",
    )
    .option("--rpc-url <url>", "JSON-RPC endpoint (env FEDMARKET_RPC_URL; default http://127.0.0.1:8545)")
    .option("--keystore <file>", "deployer keystore (password in FEDMARKET_KEYSTORE_PASSWORD) when FEDMARKET_PRIVATE_KEY is not set")
    .addOption(
      new Option(
        "--verifier <kind>",
        "round verifier: a mock that accepts anything (tests), or the Groth16 verifiers of a circuit configuration",
      )
        .choices(VERIFIER_KINDS)
        .default("k4-c16"),
    )
    .option("--k-max <n>", "mock verifier: trainer slots it reports (default 4)")
    .option("--chunk <n>", "mock verifier: chunk size it reports (default 16)")
    .option("--deployment-dir <dir>", "Ignition journal folder (default: in memory on chain 31337, else ignition/deployments/...)")
    .option("--out <file>", "also write the deployment JSON here")
    .option("--quiet", "print only the JSON")
    .addHelpText(
      "after",
      `
The deployer key comes from FEDMARKET_PRIVATE_KEY (never a flag, never printed) or --keystore.

Examples:
  npx hardhat node &                                   # a local chain on :8545
  FEDMARKET_PRIVATE_KEY=0xac09...ff80 fedmarket deploy --verifier k4-c16 --out deployment.json
  FEDMARKET_RPC_URL=https://... FEDMARKET_PRIVATE_KEY=0x... fedmarket deploy --verifier k8-c128-b8-g24`,
    )
    .action(async (flags: DeployFlags, cmd: Command) => {
      try {
        const rpcUrl = rpcUrlOf(flags.rpcUrl);
        const wallet = await loadOwnerWallet(flags.keystore);
        (await connectRpc(rpcUrl)).provider.destroy(); // fails fast (exit 2) when the endpoint is down
        const int = (v: string | undefined, name: string): number | undefined => {
          if (v === undefined) return undefined;
          if (!/^[1-9][0-9]*$/.test(v)) throw new UsageError(`${name} must be a positive integer`);
          return Number(v);
        };
        const kMax = int(flags.kMax, "--k-max");
        const chunk = int(flags.chunk, "--chunk");
        const deployment = await deployContracts({
          rpcUrl,
          privateKey: wallet.privateKey,
          verifier: flags.verifier,
          mockCircuit: { ...(kMax === undefined ? {} : { kMax }), ...(chunk === undefined ? {} : { chunk }) },
          ...(flags.deploymentDir === undefined ? {} : { deploymentDir: path.resolve(flags.deploymentDir) }),
          log: (line) => {
            if (flags.quiet !== true) process.stderr.write(`${line}\n`);
          },
        });
        if (flags.out !== undefined) await writeJson(flags.out, deployment);
        process.stdout.write(`${jsonText(deployment)}\n`);
      } catch (err) {
        fail(err, cmd);
      }
    });
}
