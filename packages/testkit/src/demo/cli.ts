/**
 * `fedmarket-demo [--json] [--out bench/demo.json] [--rounds 5] [--seed 1] [--alpha 0.5]
 *   [--workers 2] [--work-dir DIR] [--quiet] [--optimistic]` (`npm run demo`): the end-to-end demo on embedded
 * defaults (run-demo.ts). `--json` also writes the measurements to bench/demo.json.
 * Exit code 0 when every round finalized and the audit passed, 1 otherwise, 2 on bad arguments.
 */
import path from "node:path";
import { Command } from "commander";
import { REPO_ROOT } from "@fedmarket/protocol";
import { runDemo, writeDemoJson } from "./run-demo.ts";

interface DemoFlags {
  json?: boolean;
  out?: string;
  rounds: string;
  seed: string;
  alpha: string;
  workers: string;
  workDir?: string;
  quiet?: boolean;
  optimistic?: boolean;
}

const positiveInt = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer (got ${JSON.stringify(v)})`);
  return n;
};

const program = new Command()
  .name("fedmarket-demo")
  .description(
    "run the end-to-end demo locally: deploy, a funded project, 8 trainers on non-IID MNIST (attackers and a free rider " +
      "included), real Groth16 proofs verified on chain, payouts and the audit",
  )
  .option("--json", "also write the measurements to bench/demo.json (or --out)")
  .option("--out <file>", "where --json writes (default bench/demo.json)")
  .option("--rounds <n>", "rounds", "5")
  .option("--seed <n>", "seed of the data split, the initial model and the training shuffles", "1")
  .option("--alpha <x>", "Dirichlet concentration of the non-IID partitions", "0.5")
  .option("--workers <n>", "proving workers", "2")
  .option("--work-dir <dir>", "keep the demo's files (data, node states, audit report) in this folder")
  .option("--quiet", "only the per-round table and the summary")
  .option(
    "--optimistic",
    "optimistic rounds: the aggregator finalizes with the decision proof and a Merkle root of its chunk results, " +
      "pins the chunk proofs for watchers and settles each round after its challenge window (default: every chunk proof batch-verified on chain)",
  )
  .action(async (flags: DemoFlags) => {
    const alpha = Number(flags.alpha);
    if (!(alpha > 0)) throw new RangeError(`--alpha must be > 0 (got ${JSON.stringify(flags.alpha)})`);
    const report = await runDemo({
      rounds: positiveInt("--rounds", flags.rounds),
      seed: positiveInt("--seed", flags.seed),
      alpha,
      workers: positiveInt("--workers", flags.workers),
      verbose: flags.quiet !== true,
      optimistic: flags.optimistic === true,
      ...(flags.workDir === undefined ? {} : { workDir: path.resolve(flags.workDir) }),
    });
    if (flags.json === true || flags.out !== undefined) {
      const file = path.resolve(flags.out ?? path.join(REPO_ROOT, "bench", "demo.json"));
      await writeDemoJson(report, file);
      const shown = path.relative(process.cwd(), file);
      process.stdout.write(`wrote ${shown.startsWith("..") ? file : shown}\n`);
    }
    if (report.audit.verdict !== "pass") process.exitCode = 1;
  });

program.showHelpAfterError().exitOverride((err) => {
  process.exit(err.exitCode === 0 ? 0 : 2);
});
await program.parseAsync(process.argv);
