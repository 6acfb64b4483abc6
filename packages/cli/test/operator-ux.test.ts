/**
 * The operator-facing rules of `fedmarket` (issue 13): amounts printed as ETH with the wei, owner
 * input checked with the flag and its allowed range named, reverts explained, input files named,
 * and the CLI conventions (`--version`, a short usage after an argument error, exit code 2) as a
 * user sees them in a child process. No chain is needed: every case here fails before connecting.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { MarketRevertError, usageHint, usageLine } from "@fedmarket/protocol";
import { ETH_UNIT, formatAmount, unitOf } from "../src/owner/amount.ts";
import { UsageError } from "../src/owner/connect.ts";
import { exitCodeOf, explainRevert, messageOf, readInputFile, readJsonFile } from "../src/commands/common.ts";
import {
  checkAggregationWindow,
  checkCreateAmounts,
  parseRewardDecay,
  checkSpecAgainstVerifier,
  checkTrainerSlots,
  CreateRefusedError,
  roundProofEstimate,
} from "../src/commands/create-checks.ts";
import { amountOf, int } from "../src/commands/project.ts";
import { withdrawnIn } from "../src/commands/account.ts";
import { fedMarketInterface } from "@fedmarket/protocol";
import { K4_TEST_SPEC } from "@fedmarket/protocol/test-specs";

const BIN = fileURLToPath(new URL("../bin/fedmarket.js", import.meta.url));
const MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const AGGREGATOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
let tmp: string;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "fedmarket-cli-ux-"));
});
after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function run(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: "0", FEDMARKET_RPC_URL: "http://127.0.0.1:1" };
    delete env.FEDMARKET_PRIVATE_KEY;
    const child = spawn(process.execPath, [BIN, ...args], { cwd: tmp, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const unitError = (pattern: RegExp) => (e: unknown) => e instanceof UsageError && pattern.test(e.message);

test("amounts print as ETH with the wei in parentheses (tokens: their units and base units)", () => {
  assert.equal(formatAmount(1_500_000_000_000_000_000n), "1.5 ETH (1500000000000000000 wei)");
  assert.equal(formatAmount(10n ** 18n), "1 ETH (1000000000000000000 wei)");
  assert.equal(formatAmount(0n), "0 ETH (0 wei)");
  assert.equal(formatAmount(1n), "0.000000000000000001 ETH (1 wei)");
  assert.equal(unitOf("0x0000000000000000000000000000000000000000", 18), ETH_UNIT);
  assert.equal(
    formatAmount(2_000_000n, unitOf("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", 6)),
    "2 token 0xA0b8…eB48 (2000000 base units)",
  );
});

test("project create's money flags: each refusal names the flag and what is allowed", () => {
  const ok = { rewardPerRound: 10n ** 17n, rounds: 3, bond: 10n ** 16n, slash: 10n ** 15n, allowUnderfunded: false, unit: ETH_UNIT };
  assert.deepEqual(checkCreateAmounts(ok), []);
  assert.deepEqual(checkCreateAmounts({ ...ok, budget: 3n * 10n ** 17n }), [], "exactly reward x rounds");
  assert.throws(() => checkCreateAmounts({ ...ok, rewardPerRound: 0n }), unitError(/^--reward-per-round must be greater than 0/));
  assert.throws(
    () => checkCreateAmounts({ ...ok, bond: 0n }),
    (e: unknown) => e instanceof UsageError && /^--bond must be greater than 0/.test(e.message) && !/slashAmount/.test(e.message),
  );
  assert.throws(() => checkCreateAmounts({ ...ok, slash: 2n * 10n ** 16n }), unitError(/--slash 0\.02 ETH .* is above --bond 0\.01 ETH/));
  const under = { ...ok, budget: 2n * 10n ** 17n };
  assert.throws(
    () => checkCreateAmounts(under),
    unitError(/--budget 0\.2 ETH \(200000000000000000 wei\) is below --reward-per-round x --rounds = 0\.3 ETH .*--allow-underfunded/),
  );
  const warnings = checkCreateAmounts({ ...under, allowUnderfunded: true });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? "", /^warning: --budget .* pays 2 of the 3 round\(s\) in full/);
});

test("--reward-decay: a ratio in (0, 1] with six decimals at most, as millionths; the budget check sums the decayed rounds", () => {
  assert.equal(parseRewardDecay("1"), 1_000_000);
  assert.equal(parseRewardDecay("0.5"), 500_000);
  assert.equal(parseRewardDecay(".75"), 750_000);
  assert.equal(parseRewardDecay("0.000001"), 1);
  assert.equal(parseRewardDecay("1.000000"), 1_000_000);
  for (const bad of ["0", "0.0", "1.5", "2", "0.0000001", "-0.5", "", ".", "half", "1e-1", "0.5x"])
    assert.throws(() => parseRewardDecay(bad), unitError(/^--reward-decay .* is out of range: .*above 0 and at most 1/), bad);
  const ok = { rewardPerRound: 10n ** 17n, rounds: 3, bond: 10n ** 16n, slash: 10n ** 15n, allowUnderfunded: false, unit: ETH_UNIT };
  // 0.1 + 0.05 + 0.025 ETH.
  const decayed = { ...ok, rewardDecayPpm: 500_000 };
  assert.deepEqual(checkCreateAmounts({ ...decayed, budget: 175n * 10n ** 15n }), [], "exactly the decayed rounds");
  assert.throws(
    () => checkCreateAmounts({ ...decayed, budget: 16n * 10n ** 16n }),
    unitError(
      /--budget 0\.16 ETH .* is below the rounds' rewards \(--reward-per-round, times --reward-decay each round\) = 0\.175 ETH .*pays 2 of the 3 round/,
    ),
  );
});

test("trainer slots: --max-trainers and --byzantine-tolerance against the verifier's K_MAX", () => {
  const v = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
  checkTrainerSlots({ kMax: 4, verifier: v });
  checkTrainerSlots({ maxTrainers: 3, kMax: 4, verifier: v });
  checkTrainerSlots({ maxTrainers: 5, byzantineTolerance: 1, kMax: 8, verifier: v });
  assert.throws(
    () => checkTrainerSlots({ maxTrainers: 9, kMax: 4, verifier: v }),
    unitError(/^--max-trainers 9 is out of range: allowed 3\.\.4 /),
  );
  assert.throws(() => checkTrainerSlots({ maxTrainers: 2, kMax: 8, verifier: v }), unitError(/allowed 3\.\.8/));
  assert.throws(
    () => checkTrainerSlots({ maxTrainers: 4, byzantineTolerance: 1, kMax: 4, verifier: v }),
    unitError(/^--byzantine-tolerance 1 needs 5 trainer slots \(2f \+ 3, .* allowed range 0\.\.0/),
  );
  assert.throws(
    () => checkTrainerSlots({ maxTrainers: 4, byzantineTolerance: 1, kMax: 8, verifier: v }),
    unitError(/^--max-trainers 4 is out of range: allowed 5\.\.8 \(at least 2f \+ 3 = 5 for --byzantine-tolerance 1/),
  );
  const verifier = { address: v, maxTrainers: 4, chunkSize: 16 };
  checkSpecAgainstVerifier({ circuit: { kMax: 4, chunk: 16 } }, verifier, "spec.json");
  assert.throws(() => checkSpecAgainstVerifier({}, verifier, "spec.json"), unitError(/--spec spec\.json has no "circuit" section/));
  assert.throws(
    () => checkSpecAgainstVerifier({ circuit: { kMax: 8, chunk: 128 } }, verifier, "spec.json"),
    unitError(/--verifier 0xe7f1.* is compiled for kMax 4 \/ chunk 16, but --spec spec\.json says kMax 8 \/ chunk 128/),
  );
});

test("integers and amounts: the message names the flag and the range", () => {
  assert.equal(int("3600", "--submission-window", 1, 31_536_000), 3600);
  assert.equal(int(undefined, "--rounds", 1), undefined);
  assert.throws(() => int("0", "--rounds", 1), unitError(/^--rounds must be an integer >= 1 \(got "0"\)/));
  assert.throws(() => int("40000000", "--submission-window", 1, 31_536_000), unitError(/from 1 to 31536000/));
  assert.equal(amountOf("1.5", 18, "--budget"), 1_500_000_000_000_000_000n);
  assert.throws(() => amountOf("1.1234567", 6, "--amount"), unitError(/^--amount 1\.1234567 is not an amount with at most 6 decimals/));
});

test("input files: a missing file names the flag and the file; invalid JSON names the file", async () => {
  await assert.rejects(
    readInputFile(path.join(tmp, "nope.fmw"), "--initial-model"),
    unitError(/^--initial-model .*nope\.fmw: cannot read it \(no such file\)/),
  );
  await assert.rejects(readInputFile(tmp, "--spec"), unitError(/it is a folder, not a file/));
  const bad = path.join(tmp, "bad.json");
  await writeFile(bad, "{ not json");
  await assert.rejects(readJsonFile(bad, "--spec"), unitError(/^--spec .*bad\.json is not valid JSON: /));
  const good = path.join(tmp, "good.json");
  await writeFile(good, '{"a": 1}');
  assert.deepEqual(await readJsonFile(good, "--spec"), { a: 1 });
});

test("reverts: names the chain client leaves raw become sentences that say what to do", () => {
  const caller = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
  const notOwner = new MarketRevertError("NotProjectOwner", [1n, caller], `cancelProject failed: NotProjectOwner(1, ${caller})`);
  const text = messageOf(notOwner);
  assert.match(text, /^cancelProject failed: 0x9965.* is not the owner of project 1: .*sign with the owner's key/);
  assert.doesNotMatch(text, /NotProjectOwner\(/);
  assert.equal(exitCodeOf(notOwner), 1);
  assert.match(explainRevert("InvalidConfig", ["slashAmount"]) ?? "", /--slash: the slash per failed round cannot exceed --bond/);
  assert.match(explainRevert("InvalidConfig", ["maxTrainersPerRound"]) ?? "", /--max-trainers/);
  assert.match(explainRevert("EthTransferFailed", [caller, 10n ** 18n]) ?? "", /could not send 1 ETH \(1000000000000000000 wei\)/);
  assert.equal(explainRevert("SubmissionWindowClosed", [1n, 0n, 0n]), undefined, "the chain client's own sentence stays");
  const known = new MarketRevertError("NothingToRefund", [1n, caller], "claimRefund failed: has no unrefunded deposit");
  assert.equal(messageOf(known), known.message);
  assert.equal(exitCodeOf(new MarketRevertError("UnknownProject", [9n], "getProject failed: project 9 does not exist")), 2);
});

test("withdraw reads the amount from the receipt's Withdrawn event", () => {
  const event = fedMarketInterface.getEvent("Withdrawn");
  assert.ok(event !== null);
  const account = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
  const log = fedMarketInterface.encodeEventLog(event, ["0x0000000000000000000000000000000000000000", account, 123n]);
  assert.equal(withdrawnIn({ logs: [log as never] }), 123n);
  assert.equal(withdrawnIn({ logs: [] }), undefined);
});

test("the usage line names the command, its required options and arguments", () => {
  const program = new Command().name("fedmarket");
  const project = program.command("project");
  const create = project
    .command("create")
    .requiredOption("--market <address>", "m")
    .requiredOption("--out <file>", "o")
    .option("--json", "j");
  const prove = program.command("prove-round").argument("<round>").option("--json");
  assert.equal(usageLine(create), "usage: fedmarket project create --market <address> --out <file> [options]");
  assert.equal(usageLine(project), "usage: fedmarket project <command> [options]");
  assert.equal(usageLine(prove), "usage: fedmarket prove-round <round> [options]");
  assert.equal(usageHint(create).split("\n")[1], "run 'fedmarket project create --help' for details");
});

test("fedmarket --version prints the bin and the package's version, exit 0", async () => {
  const { version } = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  const r = await run(["--version"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `fedmarket ${version}`);
});

test("an argument error: error line, one usage line, where the details are; not the whole help; exit 2", async () => {
  const [r, unknown, noCommand] = await Promise.all([
    run(["project", "create", "--market", "0x12"]),
    run(["withdraw", "--bogus"]),
    run(["nonsense"]),
  ]);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.match(lines[0] ?? "", /^error: option '--market <address>' argument '0x12' is invalid\. "0x12" is not an address/);
  assert.match(lines[1] ?? "", /^usage: fedmarket project create --market <address> --verifier <address> --spec <file> /);
  assert.equal(lines[2], "run 'fedmarket project create --help' for details");
  assert.equal(lines.length, 3);
  assert.doesNotMatch(r.stderr, /Options:/);

  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^error: unknown option '--bogus'\nusage: fedmarket withdraw \[options\]\n/);
  assert.equal(noCommand.code, 2);
  assert.match(noCommand.stderr, /^error: unknown command 'nonsense'/);
});

test("project create: a missing or invalid spec file is named with its flag, exit 2, before any connection", async () => {
  const common = ["project", "create", "--market", MARKET, "--verifier", MARKET, "--aggregator", AGGREGATOR, "--out", "p.json"];
  await writeFile(path.join(tmp, "broken.json"), '{"format": ');
  await writeFile(path.join(tmp, "not-a-spec.json"), '{"format": "something else"}');
  const [missing, broken, wrong] = await Promise.all([
    run([...common, "--spec", "missing-spec.json"]),
    run([...common, "--spec", "broken.json"]),
    run([...common, "--spec", "not-a-spec.json"]),
  ]);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /^error: --spec missing-spec\.json: cannot read it \(no such file\); check the path\n/);
  assert.doesNotMatch(missing.stderr, /ENOENT/);
  assert.match(missing.stderr, /run 'fedmarket project create --help' for details/);

  assert.equal(broken.code, 2, broken.stderr);
  assert.match(broken.stderr, /^error: --spec broken\.json is not valid JSON: /);

  assert.equal(wrong.code, 2, wrong.stderr);
  assert.match(wrong.stderr, /^error: --spec not-a-spec\.json is not a valid model spec: /);
});

test("a number out of range names the flag before connecting (exit 2); an unreachable RPC exits 2", async () => {
  await writeFile(path.join(tmp, "spec.json"), JSON.stringify(K4_TEST_SPEC));
  const common = ["project", "create", "--market", MARKET, "--verifier", MARKET, "--aggregator", AGGREGATOR, "--out", "p.json"];
  const [window, down] = await Promise.all([
    run([...common, "--spec", "spec.json", "--submission-window", "0"]),
    run(["balance", "--market", MARKET, "--account", AGGREGATOR]),
  ]);
  assert.equal(window.code, 2, window.stderr);
  assert.match(window.stderr, /^error: --submission-window must be an integer from 1 to 31536000 \(got "0"\)/);
  assert.equal(down.code, 2, down.stderr);
  assert.match(down.stderr, /cannot reach the chain at http:\/\/127\.0\.0\.1:1/);
  assert.doesNotMatch(down.stderr, /usage:/, "not an argument error: no usage line");
});

test("a round's proofs: ceil(D / CHUNK) chunk proofs + 1 decision proof, timed below every measured point of bench/circuit.json", () => {
  const k4 = roundProofEstimate(52, { kMax: 4, chunk: 16 });
  assert.deepEqual(k4, { parameters: 52, chunkProofs: 4, chunkProofMs: 1_128, provingMs: 4 * 1_128 + 800 });
  assert.equal(roundProofEstimate(1_010, { kMax: 8, chunk: 128 }).chunkProofs, 8, "the demo model: 8 chunk proofs");
  assert.equal(roundProofEstimate(25_450, { kMax: 8, chunk: 512 }).chunkProofs, 50, "MNIST MLP 784-32-10 at CHUNK 512");
  // bench/circuit.json, single-thread witness + prove (ms): the estimate never exceeds a measurement
  for (const [kMax, chunk, measuredMs] of [
    [4, 16, 1_208],
    [8, 32, 2_106],
    [8, 64, 2_652],
    [8, 128, 3_057],
    [8, 512, 9_726],
  ] as const) {
    assert.ok(roundProofEstimate(chunk, { kMax, chunk }).chunkProofMs <= measuredMs, `K ${kMax} x CHUNK ${chunk}`);
  }
});

test("project create's aggregation window: refused below the proofs' time on one core (names the flags), allowed with the override", () => {
  const o = { parameters: 25_450, circuit: { kMax: 8, chunk: 512 }, allowShort: false };
  const ok = checkAggregationWindow({ ...o, aggregationWindow: 3_600 });
  assert.equal(
    ok.summary,
    "model: D = 25450 trainable parameters; circuit K_MAX 8, CHUNK 512: 50 chunk proof(s) + 1 decision proof per round, " +
      "at least ~461 s of proving on one core; aggregation window 3600 s",
  );
  assert.equal(ok.warning, undefined);
  assert.equal(checkAggregationWindow({ ...o, aggregationWindow: 461 }).warning, undefined, "exactly the estimate");
  assert.throws(
    () => checkAggregationWindow({ ...o, aggregationWindow: 300 }),
    (e: unknown) =>
      e instanceof CreateRefusedError &&
      /^--aggregation-window 300 s is shorter than the proving alone: 50 chunk proof\(s\) \(D = 25450 \/ CHUNK 512, rounded up\)/.test(
        e.message,
      ) &&
      /Raise --aggregation-window to at least 461 .* or pass --allow-short-aggregation-window/.test(e.message),
  );
  const allowed = checkAggregationWindow({ ...o, aggregationWindow: 300, allowShort: true });
  assert.match(allowed.warning ?? "", /^warning: --aggregation-window 300 s is shorter .*\(--allow-short-aggregation-window\)$/);
});

test("project create: a too short aggregation window is refused before connecting (exit 1); the override goes on", async () => {
  await writeFile(path.join(tmp, "spec.json"), JSON.stringify(K4_TEST_SPEC));
  const common = ["project", "create", "--market", MARKET, "--verifier", MARKET, "--aggregator", AGGREGATOR, "--out", "p.json"];
  const [short, allowed] = await Promise.all([
    run([...common, "--spec", "spec.json", "--aggregation-window", "5"]),
    run([...common, "--spec", "spec.json", "--aggregation-window", "5", "--allow-short-aggregation-window"]),
  ]);
  assert.equal(short.code, 1, short.stderr);
  assert.match(short.stderr, /^error: --aggregation-window 5 s is shorter than the proving alone: 4 chunk proof\(s\) \(D = 52 \/ CHUNK 16/);
  assert.match(short.stderr, /Raise --aggregation-window to at least 6 /);
  assert.doesNotMatch(short.stderr, /usage:/, "a refusal, not an argument error");
  assert.equal(allowed.code, 2, "past the check: no key to sign with");
  assert.match(allowed.stderr, /^error: no key: set FEDMARKET_PRIVATE_KEY/);
});
