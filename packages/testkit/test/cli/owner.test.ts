/**
 * The owner commands as a user runs them, each a separate `fedmarket` / `fedmarket-aggregator`
 * process against a `hardhat node` child process: deploy (Ignition, mock verifier), project
 * create (spec + generated initial model pinned to an embedded IPFS folder, owner key created
 * 0600), aggregator accept, the aggregator's circuit setup (and `run` refusing without it), fund,
 * status (tables and JSON), cancel, a funder's refund, balance and withdraw, expire; the create flags
 * checked against the verifier before anything is sent; the aggregator refusing a seal key that is
 * not the one the project registered; and the exit codes of the failures
 * (2: cannot run, 1: the transaction is refused).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider, parseEther } from "ethers";
import { prepareCircuits } from "@fedmarket/aggregator";
import { randomScalar, referenceBound } from "@fedmarket/core";
import {
  FedMarketClient,
  HeliaBlobStore,
  decodeWeights,
  globalModelCommitment,
  loadRoundHistory,
  memoryLogger,
  openReference,
  ProjectStatus,
} from "@fedmarket/protocol";
import { K4_TEST_SPEC } from "@fedmarket/protocol/test-specs";
import { startLocalChain, freePort, type LocalChain } from "../../src/chain/local-chain.ts";
import { HARDHAT_KEYS } from "../../src/chain/demo-project.ts";
import { syntheticBlobsCsv } from "../../src/data/synthetic-data.ts";
import { BIN } from "../helpers.ts";
import type { Deployment, ProjectFile, ProjectStatusReport } from "@fedmarket/cli";

const FEDMARKET = BIN.fedmarket;
const AGGREGATOR = BIN.aggregator;

let tmp: string;
let chain: LocalChain;
let deployment: Deployment;
let projectFile: ProjectFile;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(bin: string, args: readonly string[], key: string | undefined, extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, FEDMARKET_RPC_URL: chain.url, FORCE_COLOR: "0", ...extraEnv };
    delete env.FEDMARKET_PRIVATE_KEY;
    if (key !== undefined) env.FEDMARKET_PRIVATE_KEY = key;
    const child = spawn(process.execPath, [bin, ...args], { cwd: tmp, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const owner = HARDHAT_KEYS[0] as string;
const aggregatorKey = HARDHAT_KEYS[1] as string;
const AGGREGATOR_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "fedmarket-cli-owner-"));
  await writeFile(path.join(tmp, "spec.json"), JSON.stringify(K4_TEST_SPEC, null, 2));
  chain = await startLocalChain();
});

after(async () => {
  await chain?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test("deploy: Ignition deploys FedMarket and the mock verifier; the JSON names both", async () => {
  const r = await run(FEDMARKET, ["deploy", "--verifier", "mock", "--out", "deployment.json"], owner);
  assert.equal(r.code, 0, r.stderr);
  deployment = JSON.parse(r.stdout) as Deployment;
  assert.deepEqual(JSON.parse(await readFile(path.join(tmp, "deployment.json"), "utf8")), deployment);
  assert.equal(deployment.chainId, "31337");
  assert.deepEqual(deployment.circuit, { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 });
  assert.ok(!r.stdout.includes(owner.slice(2)) && !r.stderr.includes(owner.slice(2)), "the key is never printed");
  const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true });
  try {
    assert.equal(await new FedMarketClient(deployment.market, provider).projectCount(), 0n);
    assert.deepEqual(await new FedMarketClient(deployment.market, provider).verifierConfig(deployment.roundVerifier), {
      maxTrainers: 4,
      chunkSize: 16,
    });
  } finally {
    provider.destroy();
  }
});

test("project create pins spec and model, escrows the budget and writes project.json; the aggregator accepts", async () => {
  const r = await run(
    FEDMARKET,
    [
      "project",
      "create",
      "--market",
      deployment.market,
      "--verifier",
      deployment.roundVerifier,
      "--spec",
      "spec.json",
      "--aggregator",
      AGGREGATOR_ADDRESS,
      "--reward-per-round",
      "0.2",
      "--rounds",
      "2",
      "--submission-window",
      "600",
      "--ipfs-repo",
      "ipfs",
      "--owner-key-file",
      "owner.x25519",
      "--out",
      "project.json",
    ],
    owner,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /^model: D = 52 trainable parameters; circuit K_MAX 4, CHUNK 16: 4 chunk proof\(s\) \+ 1 decision proof per round, at least ~6 s of proving on one core; aggregation window 3600 s\n/,
  );
  projectFile = JSON.parse(await readFile(path.join(tmp, "project.json"), "utf8")) as ProjectFile;
  assert.equal(projectFile.projectId, "1");
  assert.equal(projectFile.market, deployment.market);
  assert.equal((await stat(path.join(tmp, "owner.x25519"))).mode & 0o777, 0o600);

  const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true });
  const store = await HeliaBlobStore.create({ dataDir: path.join(tmp, "ipfs") });
  try {
    const p = await new FedMarketClient(deployment.market, provider).getProject(1n);
    assert.equal(p.status, ProjectStatus.AwaitingAggregator);
    assert.equal(p.budget, parseEther("0.4"));
    assert.equal(p.specCid, projectFile.specCid);
    assert.equal(p.params.byzantineTolerance, 0, "default f: the largest with 2f + 3 <= 4 slots");
    assert.deepEqual(JSON.parse(new TextDecoder().decode(await store.get(p.specCid))), K4_TEST_SPEC);
    const weights = decodeWeights(await store.get(p.modelCid), 52);
    assert.equal(globalModelCommitment(weights, undefined, 4096, K4_TEST_SPEC.circuit), p.modelCommitment, "an initial model: step zero");
  } finally {
    await store.close();
    provider.destroy();
  }

  // Without --skip-setup, accept prepares the circuits first and reads the spec from IPFS for that: it needs a store.
  const noStore = await run(
    AGGREGATOR,
    ["accept", "--market", deployment.market, "--project", "1", "--seal-key-file", "aggregator.seal"],
    aggregatorKey,
  );
  assert.equal(noStore.code, 2, noStore.stdout + noStore.stderr);
  assert.match(
    noStore.stderr,
    /^error: accept prepares the project's circuits .*pass --ipfs-api <url> or --ipfs-repo <dir>.* or --skip-setup/,
  );
  // (the mock verifier's project: the circuits' setup is the "setup" test's)
  const accept = await run(
    AGGREGATOR,
    ["accept", "--market", deployment.market, "--project", "1", "--seal-key-file", "aggregator.seal", "--skip-setup", "--json"],
    aggregatorKey,
  );
  assert.equal(accept.code, 0, accept.stdout + accept.stderr);
  assert.match(accept.stdout, /"event":"accept.done".*"round":0/);
  assert.equal((await stat(path.join(tmp, "aggregator.seal"))).mode & 0o777, 0o600);
  const again = await run(
    AGGREGATOR,
    ["accept", "--market", deployment.market, "--project", "1", "--seal-key-file", "aggregator.seal", "--skip-setup"],
    aggregatorKey,
  );
  assert.equal(again.code, 1);
  assert.match(again.stderr, /project 1 is Active: there is nothing to accept/);

  // A seal key file other than the one `accept` registered (a valid seal secret, of another key):
  // `run` refuses to start, naming the file.
  await writeFile(path.join(tmp, "wrong.seal"), `${randomScalar().toString(16).padStart(64, "0")}\n`, { mode: 0o600 });
  const wrongKey = await run(
    AGGREGATOR,
    ["run", "--market", deployment.market, "--project", "1", "--data", "agg-data", "--seal-key-file", "wrong.seal", "--once"],
    aggregatorKey,
  );
  assert.equal(wrongKey.code, 2, wrongKey.stdout + wrongKey.stderr);
  assert.match(
    wrongKey.stderr,
    /^error: the seal key in --seal-key-file wrong\.seal \(public key \(0x[0-9a-f]{64}, 0x[0-9a-f]{64}\)\) is not the seal key project 1 registered/,
  );
});

test("setup prepares the project's circuits from the chain and IPFS; run refuses (exit 2) without them, naming setup", async () => {
  // The K4/C16 dev setup, made (or found in the cache) in-process first: a child process here may not take minutes.
  await prepareCircuits(K4_TEST_SPEC.circuit, memoryLogger());
  const setup = await run(
    AGGREGATOR,
    ["setup", "--market", deployment.market, "--project", "1", "--ipfs-repo", "ipfs", "--json"],
    undefined,
  );
  assert.equal(setup.code, 0, setup.stdout + setup.stderr);
  const lines = setup.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { event: string; msg: string });
  assert.match(
    lines.find((l) => l.event === "setup.project")?.msg ?? "",
    /^project 1: D = 52 parameters, circuits chunk_k4_c16 and decision_k4_c16 \(K_MAX 4, CHUNK 16: 4 chunk proofs \+ 1 decision proof per round\)/,
  );
  assert.match(lines.at(-1)?.msg ?? "", /^the DEV setup of chunk_k4_c16 and decision_k4_c16 is ready .*nothing to prepare/);

  // A ceremony folder without the files: setup names them, run refuses before its first round.
  await mkdir(path.join(tmp, "no-circuits"), { recursive: true });
  const missing = await run(
    AGGREGATOR,
    ["setup", "--market", deployment.market, "--project", "1", "--ipfs-repo", "ipfs", "--circuits", "no-circuits"],
    undefined,
  );
  assert.equal(missing.code, 2, missing.stdout + missing.stderr);
  assert.match(missing.stderr, /^error: project 1: --circuits .*no-circuits lacks files: chunk_k4_c16: chunk_k4_c16\.wasm, /);
  const refused = await run(
    AGGREGATOR,
    [
      "run",
      "--market",
      deployment.market,
      "--project",
      "1",
      "--data",
      "agg-data",
      "--ipfs-repo",
      "ipfs",
      "--seal-key-file",
      "aggregator.seal",
      "--circuits",
      "no-circuits",
      "--once",
    ],
    aggregatorKey,
  );
  assert.equal(refused.code, 2, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /^error: project 1 cannot be proven here: circuit files missing: chunk_k4_c16: /);
  assert.match(refused.stderr, /`fedmarket-aggregator setup --project 1 --circuits .*no-circuits` checks them/);
});

test("project create checks its flags against the verifier and each other before sending anything (exit 2)", async () => {
  const create = (extra: readonly string[]) =>
    run(
      FEDMARKET,
      [
        "project",
        "create",
        "--market",
        deployment.market,
        "--verifier",
        deployment.roundVerifier,
        "--spec",
        "spec.json",
        "--aggregator",
        AGGREGATOR_ADDRESS,
        "--ipfs-repo",
        "ipfs-unused",
        "--owner-key-file",
        "unused.x25519",
        "--out",
        "unused.json",
        ...extra,
      ],
      owner,
    );
  const [slots, bond, underfunded, self] = await Promise.all([
    create(["--max-trainers", "9"]),
    create(["--bond", "0"]),
    create(["--reward-per-round", "0.2", "--rounds", "2", "--budget", "0.3"]),
    create(["--aggregator", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"]),
  ]);
  const decay = await create(["--reward-decay", "0"]);
  assert.equal(decay.code, 2, decay.stderr);
  assert.match(decay.stderr, /^error: --reward-decay 0 is out of range: /);
  assert.equal(slots.code, 2, slots.stderr);
  assert.match(slots.stderr, /^error: --max-trainers 9 is out of range: allowed 3\.\.4 .*K_MAX 4\)\nusage: fedmarket project create /);
  assert.equal(bond.code, 2, bond.stderr);
  assert.match(bond.stderr, /^error: --bond must be greater than 0/);
  assert.doesNotMatch(bond.stderr, /slashAmount/);
  assert.equal(underfunded.code, 2, underfunded.stderr);
  assert.match(underfunded.stderr, /--budget 0\.3 ETH \(300000000000000000 wei\) is below --reward-per-round x --rounds = 0\.4 ETH/);
  assert.match(underfunded.stderr, /--allow-underfunded/);
  assert.equal(self.code, 2, self.stderr);
  assert.match(self.stderr, /--aggregator 0xf39F.* is the owner's own account/);
  await assert.rejects(stat(path.join(tmp, "unused.x25519")), "nothing was created: not even the owner's key file");
});

test("project fund and status: the budget grows; the status table and JSON show round 0 open", async () => {
  const fund = await run(FEDMARKET, ["project", "fund", "--project-file", "project.json", "--amount", "0.25"], HARDHAT_KEYS[5]);
  assert.equal(fund.code, 0, fund.stderr);
  assert.equal((JSON.parse(fund.stdout) as { budget: string }).budget, parseEther("0.45").toString(), "0.4 - 0.2 reserved + 0.25");

  const table = await run(FEDMARKET, ["project", "status", "--project-file", "project.json"], undefined);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /project 1: Active, round 0 of 2/);
  assert.match(table.stdout, /budget 0\.45 ETH \(450000000000000000 wei\) \+ 0\.2 ETH \(200000000000000000 wei\) reserved/);
  assert.match(table.stdout, /^0 +open +0 /m);

  const json = await run(FEDMARKET, ["project", "status", "--market", deployment.market, "--project", "1", "--json"], undefined);
  assert.equal(json.code, 0, json.stderr);
  const s = JSON.parse(json.stdout) as ProjectStatusReport & { project: { budget: string } };
  assert.equal(s.project.budget, parseEther("0.45").toString());
  assert.equal(s.rounds.length, 1);
  assert.equal(s.rounds[0]?.state, "open");
});

test("project reference: commits in the commit window, waits through the reveals, publishes an opening of the commitment", async () => {
  await writeFile(path.join(tmp, "owner-validation.csv"), syntheticBlobsCsv(77, 150, 12, ["a", "b", "c", "d"]));
  const args = ["project", "reference", "--project-file", "project.json", "--data", "owner-validation.csv", "--ipfs-repo", "ipfs"];
  const commit = await run(FEDMARKET, [...args, "--state-dir", "owner-state"], owner);
  assert.equal(commit.code, 0, commit.stderr);
  const committed = JSON.parse(commit.stdout) as { action: string; round: number; commitment: string };
  assert.equal(committed.action, "committed");
  assert.equal(committed.round, 0);
  assert.match(
    commit.stderr,
    /round 0: committed the reference \(validation loss \d+\.\d{4}\), tx 0x[0-9a-f]{64}; publish it after the reveal window/,
  );

  const early = await run(FEDMARKET, [...args, "--state-dir", "owner-state"], owner);
  assert.equal(early.code, 0, early.stderr);
  assert.equal((JSON.parse(early.stdout) as { action: string }).action, "waiting");
  assert.match(early.stderr, /round 0's reference is committed; it is published after the reveal window/);

  const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true });
  const store = await HeliaBlobStore.create({ dataDir: path.join(tmp, "ipfs") });
  try {
    const client = new FedMarketClient(deployment.market, provider);
    await chain.rpc("evm_setNextBlockTimestamp", [(await client.getCurrentRound(1n)).revealDeadline]);
    await chain.rpc("evm_mine");
    // Without the saved opening there is nothing to publish, and the command says where it looked.
    const lost = await run(FEDMARKET, [...args, "--state-dir", "elsewhere"], owner);
    assert.equal(lost.code, 2, lost.stdout + lost.stderr);
    assert.match(lost.stderr, /round 0's reference is committed but its opening is not in .*elsewhere.*round-0\.reference\.json/);
    const publish = await run(FEDMARKET, [...args, "--state-dir", "owner-state"], owner);
    assert.equal(publish.code, 0, publish.stderr);
    const published = JSON.parse(publish.stdout) as { action: string; cid: string };
    assert.equal(published.action, "published");
    const status = await run(FEDMARKET, ["project", "status", "--project-file", "project.json"], undefined);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^0 +open .* published\s*$/m, "the status table has the round's reference");
    const round = await loadRoundHistory(client, 1n, 0);
    assert.equal(round.referenceCommitted?.commitment.toString(), committed.commitment);
    assert.equal(round.referencePublished?.cid, published.cid);
    const opening = openReference(await store.get(published.cid), {
      projectId: 1n,
      round: 0,
      commitment: BigInt(committed.commitment),
      modelSize: 52,
      circuit: K4_TEST_SPEC.circuit,
    });
    const bound = BigInt(referenceBound(K4_TEST_SPEC.circuit.updateBits));
    assert.ok(
      opening.values.some((v) => v === bound || v === -bound),
      "the reference uses the whole range of B bits",
    );
  } finally {
    await store.close();
    provider.destroy();
  }
});

test("errors: an unreachable RPC exits 2 (status and audit), a missing key exits 2, cancel by a stranger exits 1 with the reason", async () => {
  const down = await run(
    FEDMARKET,
    ["project", "status", "--project-file", "project.json", "--rpc-url", `http://127.0.0.1:${await freePort()}`],
    undefined,
  );
  assert.equal(down.code, 2);
  assert.match(down.stderr, /cannot reach the chain at http:\/\/127\.0\.0\.1:\d+/);

  const auditDown = await run(
    FEDMARKET,
    ["audit", "--project-file", "project.json", "--ipfs-repo", "ipfs", "--rpc-url", `http://127.0.0.1:${await freePort()}`],
    undefined,
  );
  assert.equal(auditDown.code, 2, "the audit could not run: neither pass nor fail");
  assert.match(auditDown.stderr, /cannot reach the chain/);

  const noKey = await run(FEDMARKET, ["project", "cancel", "--project-file", "project.json"], undefined);
  assert.equal(noKey.code, 2);
  assert.match(noKey.stderr, /no key: set FEDMARKET_PRIVATE_KEY/);

  const stranger = await run(FEDMARKET, ["project", "cancel", "--project-file", "project.json"], HARDHAT_KEYS[5]);
  assert.equal(stranger.code, 1);
  assert.match(
    stranger.stderr,
    /cancelProject failed: 0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc is not the owner of project 1: .*sign with the owner's key/,
  );
  assert.doesNotMatch(stranger.stderr, /NotProjectOwner\(/);
});

test("project cancel: the open round has no submission, so the project closes and the budget is refunded pro rata", async () => {
  const r = await run(FEDMARKET, ["project", "cancel", "--project-file", "project.json"], owner);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { status: string }).status, "Cancelled");
  const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true });
  try {
    const client = new FedMarketClient(deployment.market, provider);
    // 0.65 left of 0.4 (owner) + 0.25 (a third party): each gets its own deposit back.
    const ownerAddress = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    assert.equal(await client.creditOf("0x0000000000000000000000000000000000000000", ownerAddress), parseEther("0.4"));
    const funder = await client.getFunder(1n, "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc");
    assert.deepEqual(funder, { deposit: parseEther("0.25"), refundable: parseEther("0.25") }, "the funder claims its 0.25 back");
  } finally {
    provider.destroy();
  }
  const audit = await run(
    FEDMARKET,
    ["audit", "--market", deployment.market, "--project", "1", "--ipfs-repo", "ipfs", "--out", "audit", "--json"],
    undefined,
  );
  assert.equal(audit.code, 0, audit.stdout + audit.stderr);
  const report = JSON.parse(audit.stdout) as { verdict: string; escrow: { refunded: string } };
  assert.equal(report.verdict, "pass");
  assert.equal(report.escrow.refunded, parseEther("0.65").toString(), "the cancelled project's escrow adds up");
});

test("project refund, balance, withdraw: the funder and the owner get their shares of the cancelled project", async () => {
  const funder = HARDHAT_KEYS[5] as string;
  const FUNDER = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
  const refund = await run(FEDMARKET, ["project", "refund", "--project-file", "project.json"], funder);
  assert.equal(refund.code, 0, refund.stderr);
  assert.match(refund.stderr, /credited 0\.25 ETH \(250000000000000000 wei\) to 0x9965.*fedmarket withdraw/);
  assert.equal((JSON.parse(refund.stdout) as { refunded: string }).refunded, parseEther("0.25").toString());
  const again = await run(FEDMARKET, ["project", "refund", "--project-file", "project.json"], funder);
  assert.equal(again.code, 1, again.stderr);
  assert.match(again.stderr, /has no deposit to refund in project 1/);

  const balance = await run(FEDMARKET, ["balance", "--market", deployment.market, "--account", FUNDER], undefined);
  assert.equal(balance.code, 0, balance.stderr);
  assert.match(balance.stdout, new RegExp(`credit \\(account-wide, all projects\\) of ${FUNDER}: 0\\.25 ETH \\(250000000000000000 wei\\)`));
  const dry = await run(FEDMARKET, ["withdraw", "--project-file", "project.json", "--dry-run"], funder);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /account-wide, all projects.*0\.25 ETH[^]*dry run: nothing sent/);
  const withdrawn = await run(FEDMARKET, ["withdraw", "--project-file", "project.json", "--json"], funder);
  assert.equal(withdrawn.code, 0, withdrawn.stderr);
  assert.equal((JSON.parse(withdrawn.stdout) as { withdrawn: string }).withdrawn, parseEther("0.25").toString());
  const ownerWithdraw = await run(FEDMARKET, ["withdraw", "--project-file", "project.json"], owner);
  assert.equal(ownerWithdraw.code, 0, ownerWithdraw.stderr);
  assert.match(ownerWithdraw.stdout, /withdrew 0\.4 ETH \(400000000000000000 wei\) to 0xf39F/);
  const nothing = await run(FEDMARKET, ["withdraw", "--project-file", "project.json"], owner);
  assert.equal(nothing.code, 0, nothing.stderr);
  assert.match(nothing.stdout, /: 0 ETH \(0 wei\)\nnothing to withdraw/);
});

test("project expire: refused while the aggregator may still accept, done after the 7 days", async () => {
  const r = await run(
    FEDMARKET,
    [
      "project",
      "create",
      "--market",
      deployment.market,
      "--verifier",
      deployment.roundVerifier,
      "--spec",
      "spec.json",
      "--aggregator",
      AGGREGATOR_ADDRESS,
      "--reward-per-round",
      "0.1",
      "--reward-decay",
      "0.5",
      "--rounds",
      "3",
      "--ipfs-repo",
      "ipfs",
      "--owner-key-file",
      "owner.x25519",
      "--out",
      "project2.json",
    ],
    owner,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /budget of 0\.175 ETH \(175000000000000000 wei\) escrowed/, "the default budget: 0.1 + 0.05 + 0.025");
  const terms = await run(FEDMARKET, ["project", "status", "--project-file", "project2.json"], undefined);
  assert.equal(terms.code, 0, terms.stderr);
  assert.match(terms.stdout, /next round's reward 0\.1 ETH \(100000000000000000 wei\), each later one x 0\.5 of the one before/);
  const early = await run(FEDMARKET, ["project", "expire", "--project-file", "project2.json"], HARDHAT_KEYS[6]);
  assert.equal(early.code, 1, early.stderr);
  assert.match(early.stderr, /project 2 may wait for its aggregator until .*: run this again after that; nothing was sent/);
  const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true });
  try {
    await provider.send("evm_increaseTime", [7 * 24 * 3600 + 1]);
    await provider.send("evm_mine", []);
  } finally {
    provider.destroy();
  }
  const expired = await run(FEDMARKET, ["project", "expire", "--project-file", "project2.json"], HARDHAT_KEYS[6]);
  assert.equal(expired.code, 0, expired.stderr);
  assert.equal((JSON.parse(expired.stdout) as { status: string }).status, "Cancelled");
  assert.match(expired.stderr, /project 2 expired .*fedmarket withdraw/);
  const twice = await run(FEDMARKET, ["project", "expire", "--project-file", "project2.json"], HARDHAT_KEYS[6]);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /project 2 is Cancelled: only a project still awaiting its aggregator can expire/);
});

test("fedmarket trainer / aggregator pass everything through to the node CLIs, exit code included", async () => {
  const help = await run(FEDMARKET, ["trainer", "--help"], undefined);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /Usage: fedmarket-trainer/);
  const bad = await run(FEDMARKET, ["aggregator", "status", "--project", "1", "--market", deployment.market], undefined);
  assert.equal(bad.code, 2, "a missing flag: the command could not run");
  assert.match(bad.stderr + bad.stdout, /the data folder is missing: pass --data <dir>/);
});
