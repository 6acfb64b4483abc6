/**
 * The owner's reference in the round proofs, on the real K4/C16 round verifier (its Poseidon
 * libraries check the answer, its Groth16 verifiers the proofs), one round per way a reference ends:
 * - round 0, flagged (IFedMarket `flagReference` / `answerReferencePart` / `answerReference`): the
 *   owner's step commits, publishes after the reveals, and when the aggregator flags the published
 *   reference, puts the saved values and salt on chain in parts; the answer opens the commitment,
 *   the owner's step never sends a part twice, and the aggregator node proves the round with the
 *   answered values;
 * - round 1, published: the aggregator node fetches the blob, opens it and proves with it;
 * - round 2, withheld (committed, never published): chunk proofs wait for the publication window
 *   (`ReferencePublicationOpen`), then the aggregator node proves without a reference, and the
 *   reference deposit is burned (round 1's, whose reference counted, came back); the owner's step
 *   then refuses to commit round 3's until the project is funded again;
 * Each round's decision proof received the reference commitment exactly when it counted, and each
 * round's alignments are the independent reference computation's.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { readFile } from "node:fs/promises";
import { referenceChunks } from "@fedmarket/core";
import { loadDataset } from "@fedmarket/ml";
import { FedMarketClient, decisionReference, loadRoundHistory, openReference, type ModelSpec } from "@fedmarket/protocol";
import { openAggregator, type RoundFile } from "@fedmarket/aggregator";
import { memoryLogger } from "@fedmarket/protocol";
import { K4_TEST_SPEC } from "@fedmarket/protocol/test-specs";
import { referenceStep, type ReferenceStepOptions } from "@fedmarket/cli";
import { createDemoProject, type DemoProject } from "../../src/chain/demo-project.ts";
import { syntheticBlobsCsv } from "../../src/data/synthetic-data.ts";
import { K4_C16, startMarketFixture, type MarketFixture } from "../aggregator/support/market-fixture.ts";
import { referenceRound, seededInts, submitRoundAs } from "../aggregator/support/rounds.ts";
import { HARDHAT_KEYS } from "../../src/chain/demo-project.ts";

const SPEC = K4_TEST_SPEC;
const D = 52;
const TRAINERS = [2, 3, 4];

let fx: MarketFixture;
let project: DemoProject;
let step: ReferenceStepOptions;

before(async () => {
  fx = await startMarketFixture("fedmarket-reference-dispute-");
  project = await createDemoProject({
    market: fx.market,
    verifier: fx.verifier,
    owner: fx.signer(0),
    aggregator: fx.signer(1),
    store: fx.store,
    tf: fx.backend.tf,
    spec: SPEC,
    submissionWindow: 600,
    revealWindow: 600,
    aggregationWindow: 2400,
    numRounds: 4,
    trainers: TRAINERS.map((i) => fx.signer(i)),
  });
  const csv = path.join(fx.tmp, "owner-validation.csv");
  await writeFile(csv, syntheticBlobsCsv(41, 120, 12, SPEC.labels));
  step = {
    client: new FedMarketClient(fx.market, fx.signer(0)),
    store: fx.store,
    projectId: project.projectId,
    stateDir: path.join(fx.tmp, "owner-state"),
    validation: (spec: ModelSpec) => loadDataset(csv, { inputShape: spec.inputShape, labels: spec.labels }),
    log: () => {},
    partChunks: 1,
  };
});

after(async () => {
  await fx?.close();
});

test("a flagged reference is answered on chain by the owner's step, in parts, and opens its commitment", async () => {
  const committed = await referenceStep(step);
  assert.equal(committed.action, "committed");
  await submitRoundAs(fx, project, {
    round: 0,
    config: K4_C16,
    updates: TRAINERS.map((signerIndex, i) => ({ signerIndex, values: seededInts(70 + i, D, 200) })),
  });
  const published = await referenceStep(step);
  assert.equal(published.action, "published");

  // The aggregator says it cannot open the blob (a false flag: the owner can answer it).
  const aggregator = new FedMarketClient(fx.market, fx.signer(1));
  await aggregator.wait(await aggregator.flagReference(project.projectId, 0));
  const answered = await referenceStep(step);
  assert.deepEqual(
    { action: answered.action, transactions: answered.action === "answered" ? answered.transactions : 0 },
    {
      action: "answered",
      transactions: 4, // 52 parameters in chunks of 16: three parts of one chunk, then the last chunk with the salt
    },
  );
  const again = await referenceStep(step);
  assert.equal(again.action, "waiting");
  assert.match(again.action === "waiting" ? again.reason : "", /is answered/);

  const round = await loadRoundHistory(fx.roundChain.client, project.projectId, 0);
  assert.equal(round.referenceAnswerParts?.length, 3);
  assert.equal(round.referenceAnswered?.firstChunk, 3);
  const blob = openReference(await fx.store.get(round.referencePublished?.cid as string), {
    projectId: project.projectId,
    round: 0,
    commitment: round.referenceCommitted?.commitment as bigint,
    modelSize: D,
    circuit: K4_C16,
  });
  const onChain = [...(round.referenceAnswerParts ?? []).flatMap((p) => p.packed), ...(round.referenceAnswered?.packed ?? [])];
  assert.deepEqual(onChain, referenceChunks(blob.values, K4_C16).flat(), "the values on chain are the published reference's");
  assert.equal(round.referenceAnswered?.salt, blob.salt);
});

/**
 * Runs the aggregator node on the open round until it is done, moving chain time to each deadline
 * it waits for (`waiting` with `untilChainTime`); returns the round's `round.json`. With
 * `untilFlagged`, stops (returning undefined) once the node has flagged the round's reference.
 */
async function aggregate(round: number): Promise<RoundFile>;
async function aggregate(round: number, untilFlagged: true): Promise<RoundFile | undefined>;
async function aggregate(round: number, untilFlagged = false): Promise<RoundFile | undefined> {
  const dataDir = path.join(fx.tmp, "aggregator");
  const agg = await openAggregator(
    { rpcUrl: fx.chain.url, market: fx.market, dataDir, ipfsRetries: 0, ipfsTimeoutMs: 2000 },
    memoryLogger(),
    { env: { FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] }, store: fx.store, sealSecret: project.aggregatorKey.secret },
  );
  try {
    for (let i = 0; i < 10; i++) {
      const out = await agg.node.runRound(project.projectId);
      if (out.kind === "done") {
        assert.equal(out.done.kind, "finalized", JSON.stringify(out.done));
        return JSON.parse(await readFile(path.join(dataDir, `p${project.projectId}`, `r${round}`, "round.json"), "utf8")) as RoundFile;
      }
      assert.equal(out.kind, "waiting", JSON.stringify(out));
      if (untilFlagged && (await loadRoundHistory(fx.roundChain.client, project.projectId, round)).referenceFlagged !== undefined)
        return undefined;
      const until = out.kind === "waiting" ? out.untilChainTime : undefined;
      assert.ok(until !== undefined, `waiting without a deadline: ${JSON.stringify(out)}`);
      if (until > (await fx.roundChain.client.chainTime())) await fx.roundChain.rpc("evm_setNextBlockTimestamp", [until]);
      await fx.roundChain.rpc("evm_mine", []);
    }
  } finally {
    await agg.close();
  }
  throw new Error(`round ${round} was not done after 10 runs`);
}

/** The round's commitment in the decision inputs and alignments, against the independent computation. */
async function assertProvenWith(round: number, file: RoundFile, counts: boolean): Promise<void> {
  const history = await loadRoundHistory(fx.roundChain.client, project.projectId, round);
  const expected = decisionReference(history);
  assert.equal(expected !== 0n, counts);
  assert.equal(file.reference, expected.toString());
  assert.equal(file.decisionSignals[6], expected.toString(), "the decision's public input 6 is the reference the contract passed");
  const independent = await referenceRound(fx, project, { round, config: K4_C16, scale: SPEC.quantization.scale, f: 0, modelSize: D });
  assert.deepEqual(file.alignment, independent.alignment.map(String));
  assert.equal(independent.reference, expected);
  if (counts) assert.ok(independent.alignment.some((a) => a !== 0n));
  assert.ok(history.end !== undefined && history.end.kind === "finalized", "the round was finalized on chain");
}

/** The owner's step commits the round's reference, then the trainers commit and reveal (both windows closed). */
async function commitAndSubmit(round: number): Promise<void> {
  assert.equal((await referenceStep(step)).action, "committed");
  await submitRoundAs(fx, project, {
    round,
    config: K4_C16,
    updates: TRAINERS.map((signerIndex, i) => ({ signerIndex, values: seededInts(70 + 20 * round + i, D, 200) })),
  });
}

test("round 0: the aggregator node proves the round with the reference answered on chain", async () => {
  const file = await aggregate(0);
  await assertProvenWith(0, file, true);
});

test("round 1: a published reference that opens is fetched and proven with; round 2: a withheld one delays chunk proofs to the end of its window, then is left out", async () => {
  await commitAndSubmit(1);
  assert.equal((await referenceStep(step)).action, "published");
  await assertProvenWith(1, await aggregate(1), true);

  await commitAndSubmit(2);
  // The owner never publishes: the aggregator waits for the window's end, then proves without it.
  await assertProvenWith(2, await aggregate(2), false);
  // The deposit of round 1 came back (its reference counted); round 2's is burned (withheld).
  const h1 = await loadRoundHistory(fx.roundChain.client, project.projectId, 1);
  const h2 = await loadRoundHistory(fx.roundChain.client, project.projectId, 2);
  assert.equal(h1.referenceDeposit?.returned, true);
  assert.equal(h2.referenceDeposit?.returned, false);
  assert.equal(h2.referenceDeposit?.deposit, h2.referenceCommitted?.deposit);
});

test("round 3: a published blob that does not open is flagged by the aggregator node, answered by the owner's step, and proven with", async () => {
  // Round 2's burned deposit left the budget short of another one: the owner's step says so and
  // commits nothing until the project is funded.
  const short = await referenceStep(step);
  assert.equal(short.action, "waiting");
  assert.match(
    short.action === "waiting" ? short.reason : "",
    /takes the round's reward .* as a deposit, but the budget holds .*fund the project/,
  );
  const ownerClient = new FedMarketClient(fx.market, fx.signer(0));
  const { roundReward } = await ownerClient.getProject(project.projectId);
  await ownerClient.wait(
    await ownerClient.contract.getFunction("fundProject").send(project.projectId, roundReward, { value: roundReward }),
  );
  await commitAndSubmit(3);
  // The owner publishes something that is not its reference (a lost file, a wrong CID).
  const junk = await fx.store.put(new TextEncoder().encode("not a fedmarket reference"));
  const owner = new FedMarketClient(fx.market, fx.signer(0));
  await owner.wait(await owner.publishReference(project.projectId, 3, junk));
  assert.equal(await aggregate(3, true), undefined);
  const flagged = await loadRoundHistory(fx.roundChain.client, project.projectId, 3);
  assert.ok(flagged.referenceFlagged !== undefined, "the node flagged the reference");
  const answered = await referenceStep(step);
  assert.equal(answered.action, "answered");
  await assertProvenWith(3, await aggregate(3), true);
});
