/**
 * The owner's reference under a flag (IFedMarket `flagReference` / `answerReferencePart` /
 * `answerReference`), on the real K4/C16 round verifier (its Poseidon libraries check the answer):
 * the owner's step commits, publishes after the reveals, and when the aggregator flags the
 * published reference, puts the saved values and salt on chain in parts; the answer opens the
 * commitment, and the owner's step never sends a part twice.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { referenceChunks } from "@fedmarket/core";
import { loadDataset } from "@fedmarket/ml";
import { FedMarketClient, loadRoundHistory, openReference, type ModelSpec } from "@fedmarket/protocol";
import { K4_TEST_SPEC } from "@fedmarket/protocol/test-specs";
import { referenceStep, type ReferenceStepOptions } from "@fedmarket/cli";
import { createDemoProject, type DemoProject } from "../../src/chain/demo-project.ts";
import { syntheticBlobsCsv } from "../../src/data/synthetic-data.ts";
import { K4_C16, startMarketFixture, type MarketFixture } from "../aggregator/support/market-fixture.ts";
import { seededInts, submitRoundAs } from "../aggregator/support/rounds.ts";

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
