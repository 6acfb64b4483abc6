/**
 * The "testnet-style" run: every party is its own process, started from the command line as a user
 * would, each with its own key, talking only through JSON-RPC and one shared IPFS API.
 *
 * - `npx hardhat node --port <free>` (the repository's config) is the chain;
 * - `fedmarket deploy` deploys FedMarket and the K4/C16 Groth16 verifiers with the Ignition modules;
 * - `fedmarket ipfs serve` exposes one embedded IPFS node (Helia, on disk) as a Kubo RPC API;
 * - the owner runs `fedmarket project create`, three trainers `fedmarket-trainer join`, then the
 *   appointed aggregator `fedmarket-aggregator accept`, which prepares the project's circuits before
 *   it posts the bond (a round's slots are drawn among the trainers registered when it opens);
 * - three `fedmarket-trainer run` processes (until the project ends) train a logistic model on 12
 *   features and 4 labels (D = 52: four chunk proofs and a decision proof per round) on their own
 *   CSV data, commit, and reveal once the commit window closed; one `fedmarket-aggregator run`
 *   aggregates;
 * - round 0: the aggregator is killed with SIGKILL right after its first proof; started again, it
 *   resumes from its data folder and the round finalizes; round 1 then completes the project;
 * - `fedmarket audit` passes; after one byte of the pinned final model is changed in the IPFS
 *   node's blockstore, it fails and names the model.
 *
 * The test moves chain time past each commit window once the three sealed commitments are on chain,
 * and past each reveal window once the three updates are revealed (`commitRevealRound`), instead
 * of waiting as a real deployment would. f = 0: quorum 2f + 3 = 3.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider, Wallet } from "ethers";
import { ETH_TOKEN, FedMarketClient, ProjectStatus, REPO_ROOT } from "@fedmarket/protocol";
import { freePort } from "../../src/chain/local-chain.ts";
import { HARDHAT_KEYS } from "../../src/chain/demo-project.ts";
import { ChildRegistry, type Child, type Finished } from "./support/child-processes.ts";
import { syntheticBlobsCsv } from "../../src/data/synthetic-data.ts";
import { BIN, commitRevealRound, type RoundChain } from "../helpers.ts";

const FEATURES = 12;
const LABELS = ["a", "b", "c", "d"];
const SPEC = {
  format: "fedmarket-model-spec/1",
  name: "logistic-12-4",
  inputShape: [FEATURES],
  labels: LABELS,
  layers: [{ type: "dense", units: LABELS.length, activation: "softmax" }],
  training: { epochs: 2, batchSize: 16, learningRate: 0.5, optimizer: "sgd" },
  quantization: { scale: 4096, clipBound: 1 },
  circuit: { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 },
};
const WINDOW = 3600;
const ROUNDS = 2;
const OWNER = 0;
const AGGREGATOR = 1;
const TRAINERS = [2, 3, 4];

const procs = new ChildRegistry();
let tmp: string;
let rpcUrl: string;
let ipfsApi: string;
let ipfsRepo: string;
let provider: JsonRpcProvider;
let market: string;
let verifier: string;
let projectId: bigint;
let ipfsServer: Child;
let aggregatorRun: Child | undefined;
const trainerRuns: Child[] = [];
const file = (...p: string[]): string => path.join(tmp, ...p);
const aggData = (): string => file("aggregator");
const address = (i: number): string => new Wallet(HARDHAT_KEYS[i] as string).address;
/** A key goes to a child through its environment only, as the CLIs require. */
const keyEnv = (i: number): Record<string, string> => ({ FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[i] as string });

const csv = (seed: number, n: number): string => syntheticBlobsCsv(seed, n, FEATURES, LABELS);

function node(
  script: string,
  args: readonly string[],
  name: string,
  env: Record<string, string> = {},
  safetyMs?: number,
): Promise<Finished> {
  return procs.run(process.execPath, [script, ...args], { name, cwd: tmp, env }, safetyMs);
}

function nodeStart(script: string, args: readonly string[], name: string, env: Record<string, string> = {}): Child {
  return procs.start(process.execPath, [script, ...args], { name, cwd: tmp, env });
}

const show = (r: Finished): string =>
  `exit ${r.code} ${r.signal ?? ""}\n--- stdout ---\n${r.stdout.slice(-6000)}\n--- stderr ---\n${r.stderr.slice(-6000)}`;

async function rpc(method: string, params: unknown[] = []): Promise<unknown> {
  return provider.send(method, params);
}

/** Polls the chain until `probe` holds (a hang guard, not a performance expectation). */
async function until(what: string, probe: () => Promise<boolean>, context: () => string = () => "", safetyMs = 240_000): Promise<void> {
  const deadline = Date.now() + safetyMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`no ${what} after ${safetyMs} ms\n${context()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const chain = () => new FedMarketClient(market, provider);
const roundChain = (): RoundChain => ({ rpc, client: chain() });
const everyone = (): string => [...trainerRuns, ...(aggregatorRun ? [aggregatorRun] : [])].map((c) => c.transcript()).join("\n");

/** Waits until the open round is `round` and `count` (commits or revealed submissions) reaches the number of trainers. */
function untilAll(round: number, count: "commits" | "submissions"): Promise<void> {
  return until(
    `${TRAINERS.length} ${count} in round ${round}`,
    async () => {
      const r = await chain().getCurrentRound(projectId);
      return r.round === round && r[count] === TRAINERS.length;
    },
    everyone,
  );
}

/**
 * Round `round` as the trainer processes play it on their own: once their three sealed
 * commitments are on chain the commit window is closed; once their three updates are revealed
 * the reveal window is closed: the aggregator's turn.
 */
async function playRound(round: number): Promise<void> {
  await commitRevealRound(roundChain(), projectId, {
    commit: () => untilAll(round, "commits"),
    reveal: () => untilAll(round, "submissions"),
  });
}

/** The options every trainer command of account `i` shares. */
const trainerArgs = (i: number): string[] => [
  "--rpc-url",
  rpcUrl,
  "--market",
  market,
  "--project",
  projectId.toString(),
  "--state-dir",
  file("trainers", `t${i}`),
  "--ipfs-api",
  ipfsApi,
  "--json",
];

function aggregatorArgs(): string[] {
  return [
    "run",
    "--json",
    "--rpc-url",
    rpcUrl,
    "--market",
    market,
    "--project",
    projectId.toString(),
    "--data",
    aggData(),
    "--ipfs-api",
    ipfsApi,
    "--seal-key-file",
    file("aggregator.seal"),
    "--poll-interval",
    "200",
    "--workers",
    "1",
  ];
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "fedmarket-multiprocess-"));
  ipfsRepo = file("ipfs");
  const port = await freePort();
  rpcUrl = `http://127.0.0.1:${port}`;
  const hardhat = procs.start("npx", ["hardhat", "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    name: "hardhat node",
    cwd: REPO_ROOT,
  });
  ipfsServer = nodeStart(BIN.fedmarket, ["ipfs", "serve", "--repo", ipfsRepo, "--port", "0", "--json"], "fedmarket ipfs serve");
  ipfsApi = (await ipfsServer.waitForEvent("ipfs.listening")).url as string;
  await hardhat.waitFor("the JSON-RPC server", () =>
    /Started HTTP and WebSocket JSON-RPC server at/.test(hardhat.stdout) ? true : undefined,
  );
  provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, pollingInterval: 250, cacheTimeout: -1 });

  await mkdir(file("data"), { recursive: true });
  for (const i of TRAINERS) await writeFile(file("data", `trainer-${i}.csv`), csv(100 + i, 120));
  await writeFile(file("model-spec.json"), `${JSON.stringify(SPEC, null, 2)}\n`);
});

after(async () => {
  await procs.killAll();
  provider?.destroy();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

test("deploy with Ignition, create the project, join it, accept it, all from the command line", async () => {
  const deployed = await node(
    BIN.fedmarket,
    ["deploy", "--rpc-url", rpcUrl, "--verifier", "k4-c16", "--out", file("deployment.json")],
    "fedmarket deploy",
    keyEnv(OWNER),
  );
  assert.equal(deployed.code, 0, show(deployed));
  const deployment = JSON.parse(await readFile(file("deployment.json"), "utf8")) as {
    market: string;
    roundVerifier: string;
    circuit: { kMax: number; chunk: number };
  };
  ({ market, roundVerifier: verifier } = deployment);
  assert.deepEqual([deployment.circuit.kMax, deployment.circuit.chunk], [4, 16]);

  const created = await node(
    BIN.fedmarket,
    [
      "project",
      "create",
      "--rpc-url",
      rpcUrl,
      "--ipfs-api",
      ipfsApi,
      "--market",
      market,
      "--verifier",
      verifier,
      "--spec",
      file("model-spec.json"),
      "--aggregator",
      address(AGGREGATOR),
      "--rounds",
      String(ROUNDS),
      "--reward-per-round",
      "1",
      "--byzantine-tolerance",
      "0",
      "--submission-window",
      String(WINDOW),
      "--reveal-window",
      String(WINDOW),
      "--aggregation-window",
      String(4 * WINDOW),
      "--owner-key-file",
      file("owner.x25519"),
      "--out",
      file("project.json"),
    ],
    "fedmarket project create",
    keyEnv(OWNER),
  );
  assert.equal(created.code, 0, show(created));
  const project = JSON.parse(await readFile(file("project.json"), "utf8")) as { projectId: string; specCid: string; modelCid: string };
  projectId = BigInt(project.projectId);
  assert.ok(existsSync(file("owner.x25519")), "the owner's X25519 key file was generated");

  // The trainers join while the project waits for its aggregator: round 0's candidates.
  await Promise.all(
    TRAINERS.map(async (i) => {
      const joined = await node(BIN.trainer, ["join", ...trainerArgs(i)], `fedmarket-trainer join (account ${i})`, keyEnv(i));
      assert.equal(joined.code, 0, show(joined));
    }),
  );

  const accepted = await node(
    BIN.aggregator,
    [
      "accept",
      "--rpc-url",
      rpcUrl,
      "--market",
      market,
      "--project",
      projectId.toString(),
      "--seal-key-file",
      file("aggregator.seal"),
      // prepares the K4/C16 circuits (from the spec on the shared IPFS node) before it posts the bond
      "--ipfs-api",
      ipfsApi,
    ],
    "fedmarket-aggregator accept",
    keyEnv(AGGREGATOR),
    900_000, // a hang guard: the first setup on a machine compiles the circuits (minutes on 2 cores)
  );
  assert.equal(accepted.code, 0, show(accepted));
  assert.match(accepted.stdout, /preparing project \d+'s circuits before accepting/);
  assert.match(accepted.stdout, /the DEV setup of chunk_k4_c16 and decision_k4_c16 is ready/);
  const p = await chain().getProject(projectId);
  assert.equal(p.status, ProjectStatus.Active);
  assert.equal(p.aggregator, address(AGGREGATOR));
  assert.equal(p.params.byzantineTolerance, 0, "f = 0: three trainers make a quorum");
  assert.equal(
    (await chain().getCurrentRound(projectId)).candidates,
    TRAINERS.length,
    "round 0 opened with the three trainers as candidates",
  );
});

test("3 trainer processes and 1 aggregator process; SIGKILL of the aggregator while proving round 0, the restart finalizes it; round 1 completes the project", async () => {
  assert.ok(projectId !== undefined, "needs the project of the previous test");
  for (const i of TRAINERS) {
    trainerRuns.push(
      nodeStart(
        BIN.trainer,
        ["run", ...trainerArgs(i), "--data", file("data", `trainer-${i}.csv`), "--poll-interval", "250", "--seed", String(i)],
        `fedmarket-trainer run (account ${i})`,
        keyEnv(i),
      ),
    );
  }

  await playRound(0);
  const first = nodeStart(BIN.aggregator, aggregatorArgs(), "fedmarket-aggregator run (first)", keyEnv(AGGREGATOR));
  aggregatorRun = first;
  await first.waitForEvent("proof.done");
  first.kill("SIGKILL");
  const killed = await first.exited;
  assert.equal(killed.signal, "SIGKILL");
  const r0 = path.join(aggData(), `p${projectId}`, "r0");
  assert.ok(!existsSync(path.join(r0, "done.json")), `killed before the round was done\n${first.transcript()}`);
  const saved = (await readdir(path.join(r0, "proofs"))).filter((f) => f.endsWith(".json"));
  assert.ok(saved.length >= 1, "the killed process had saved at least one proof");
  assert.equal((await chain().getProject(projectId)).currentRound, 0, "round 0 is still open");

  const second = nodeStart(BIN.aggregator, aggregatorArgs(), "fedmarket-aggregator run (restarted)", keyEnv(AGGREGATOR));
  aggregatorRun = second;
  await until("round 0 finalized", async () => (await chain().getProject(projectId)).currentRound >= 1, everyone);
  const proved = await second.waitForEvent("round.proved");
  assert.ok(Number(proved.reused) >= 1, `the restart reused the proofs saved before the kill: ${String(proved.msg)}`);

  // Round 1: the trainers notice the new round by themselves; the same aggregator process finishes it.
  await playRound(1);
  const runs = await Promise.all([second, ...trainerRuns].map(async (c) => ({ c, exit: await c.exited })));
  for (const { c, exit } of runs) assert.equal(exit.code, 0, c.transcript());
  const p = await chain().getProject(projectId);
  assert.equal(p.status, ProjectStatus.Completed);
  assert.equal(p.currentRound, ROUNDS);
  for (const i of TRAINERS) assert.ok((await chain().creditOf(ETH_TOKEN, address(i))) > 0n, `trainer ${i} was paid`);
});

test("fedmarket audit passes; a changed byte in the pinned model makes it fail and name the model", async () => {
  assert.ok(projectId !== undefined, "needs the project of the previous tests");
  const auditArgs = (out: string): string[] => [
    "audit",
    "--rpc-url",
    rpcUrl,
    "--ipfs-api",
    ipfsApi,
    "--market",
    market,
    "--project",
    projectId.toString(),
    "--owner-key-file",
    file("owner.x25519"),
    "--out",
    file(out),
    "--json",
  ];
  const passed = await node(BIN.fedmarket, auditArgs("audit-1"), "fedmarket audit");
  assert.equal(passed.code, 0, show(passed));
  const reports = await readdir(file("audit-1"));
  assert.ok(reports.length > 0, "a report was written");

  // The final model is one raw block (D = 52 weights); change one byte of it on the IPFS node's disk.
  const { modelCid } = await chain().getProject(projectId);
  const modelBytes = await readBlob(modelCid);
  const blockFile = await findBlockFile(path.join(ipfsRepo, "blocks"), modelBytes);
  const tampered = Buffer.from(modelBytes);
  tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 0x01;
  await writeFile(blockFile, tampered);

  const failed = await node(BIN.fedmarket, auditArgs("audit-2"), "fedmarket audit (tampered)");
  assert.equal(failed.code, 1, show(failed));
  assert.ok(`${failed.stdout}${failed.stderr}`.includes(modelCid), `the failure names the model ${modelCid}\n${show(failed)}`);
});

test("fedmarket ipfs serve stops cleanly on SIGTERM", async () => {
  ipfsServer.kill("SIGTERM");
  const exit = await ipfsServer.exited;
  assert.equal(exit.code, 0, ipfsServer.transcript());
  assert.ok(
    ipfsServer.jsonLines().some((l) => l.event === "ipfs.stopped"),
    ipfsServer.transcript(),
  );
});

/** The blob's bytes through the shared IPFS API (as every process sees them). */
async function readBlob(cid: string): Promise<Uint8Array> {
  const res = await fetch(`${ipfsApi}/api/v0/cat?arg=${cid}`, { method: "POST" });
  assert.equal(res.status, 200, await res.clone().text());
  return new Uint8Array(await res.arrayBuffer());
}

/** The blockstore file holding exactly `bytes` (blockstore-fs: one file per block, sharded folders). */
async function findBlockFile(dir: string, bytes: Uint8Array): Promise<string> {
  const matches: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    const content = await readFile(full);
    if (content.length === bytes.length && content.equals(bytes)) matches.push(full);
  }
  assert.equal(matches.length, 1, `one block file holds the model (found ${matches.length})`);
  return matches[0] as string;
}
