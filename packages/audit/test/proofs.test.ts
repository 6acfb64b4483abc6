/**
 * Re-verifying a finalized round's decision proof from calldata: the public inputs are rebuilt as
 * FedMarket builds them, `[ctx, prevModel, newModel, accFinal, A.x, A.y, reference, c[K], outcome[W]]`,
 * with the seal key the round's aggregator registered and the owner's reference when it counts;
 * without that key the inputs cannot be rebuilt.
 * A fake provider serves the `finalizeRound` transaction and answers the verifier's `eth_call`.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Interface, type Provider } from "ethers";
import { computeCtx } from "@fedmarket/core";
import { fedMarketInterface, ROUND_VERIFIER_ABI, roundKeccak } from "@fedmarket/protocol";
import { checkRoundProofs, type RoundProofContext } from "../src/index.ts";
import { finalized, MARKET, opened, PROJECT_ID, roundHistory, SEAL_KEY, submission, tx } from "./fixtures.ts";

const VERIFIER = "0x0000000000000000000000000000000000000abc";
const PARAMS_HASH = `0x${"11".repeat(32)}`;
const verifierInterface = new Interface(ROUND_VERIFIER_ABI);

/** A provider that knows one `finalizeRound` transaction and records the decision inputs the verifier is asked about. */
function fakeChain(outcomes: readonly bigint[]): { provider: Provider; asked: bigint[][] } {
  const asked: bigint[][] = [];
  const data = fedMarketInterface.encodeFunctionData("finalizeRound", [
    PROJECT_ID,
    0,
    0,
    [],
    {
      newModelCommitment: 8n,
      outcomes,
      proof: new Array<bigint>(8).fill(0n),
      newModelCid: "model-1",
      nextHyperParams: { learningRateMicros: 500_000, localEpochs: 2, batchSize: 16 },
    },
  ]);
  const provider = {
    getTransaction: async () => ({ to: MARKET, data, value: 0n }),
    call: async (call: { data: string }) => {
      const parsed = verifierInterface.parseTransaction({ data: call.data });
      assert.equal(parsed?.name, "verifyDecision");
      asked.push(Array.from(parsed.args[1] as bigint[], BigInt));
      return verifierInterface.encodeFunctionResult("verifyDecision", [true]);
    },
  } as unknown as Provider;
  return { provider, asked };
}

function context(provider: Provider, sealKey: RoundProofContext["sealKey"]): RoundProofContext {
  return {
    provider,
    market: MARKET,
    chainId: 31337n,
    projectId: PROJECT_ID,
    paramsHash: PARAMS_HASH,
    byzantineTolerance: 0,
    modelSize: 16,
    numChunks: 0,
    kMax: 4,
    verifier: VERIFIER,
    sealKey,
  };
}

const round = roundHistory({
  round: 0,
  opened: opened(0, 4, 1000n),
  submissions: [submission(0, 0, 5, 101n), submission(0, 2, 6, 103n)],
  end: finalized(0, tx(0xf0), { totalScore: 1n, paid: 1n }),
});

describe("# checkRoundProofs", () => {
  it("asks the verifier about [ctx, prevModel, newModel, accFinal, A.x, A.y, reference, c[K], outcome[W]]", async () => {
    const outcomes = [1n | (5n << 2n), 0n];
    const { provider, asked } = fakeChain(outcomes);
    const check = await checkRoundProofs(context(provider, SEAL_KEY), round);
    assert.deepEqual(check.failures, []);
    const ctx = computeCtx(roundKeccak(31337n, MARKET, PROJECT_ID, 0, PARAMS_HASH), 0, 16);
    const inputs = [ctx, 7n, 8n, 0n, SEAL_KEY[0], SEAL_KEY[1], 0n, 101n, 0n, 103n, 0n, ...outcomes];
    assert.deepEqual(check.decisionInputs, inputs);
    assert.deepEqual(asked, [inputs]);
    assert.deepEqual(
      check.outcomes.map((o) => [o.status, o.score]),
      [
        [1, 5n],
        [0, 0n],
        [0, 0n],
        [0, 0n],
      ],
    );
  });

  it("rebuilds a flagged, unanswered slot's commitment as 0 (as the contract passes it); an answered one keeps its commitment", async () => {
    const outcomes = [1n | (5n << 2n), 0n];
    const { provider, asked } = fakeChain(outcomes);
    const at = { projectId: PROJECT_ID, round: 0, blockNumber: 7, transactionHash: tx(0xe0), logIndex: 0 };
    const flagged = {
      ...round,
      submissions: [...round.submissions, submission(0, 3, 7, 104n)],
      flags: [2, 3].map((slot) => ({ ...at, trainer: MARKET, slot, answerDeadline: 99 })),
      publications: [
        { ...at, trainer: MARKET, slot: 3, firstChunk: 0, ephemeral: [1n, 2n] as const, cipher: [3n], ownerWrap: new Uint8Array(0) },
      ],
    };
    const check = await checkRoundProofs(context(provider, SEAL_KEY), flagged);
    assert.deepEqual(check.failures, []);
    assert.deepEqual(check.decisionInputs.slice(7, 11), [101n, 0n, 0n, 104n], "slot 2 unanswered: 0; slot 3 answered: its commitment");
    assert.deepEqual(asked[0]?.slice(7, 11), [101n, 0n, 0n, 104n]);
  });

  it("rebuilds the owner's reference as the contract passes it: its commitment when published (or flagged and answered), else 0", async () => {
    const at = { projectId: PROJECT_ID, round: 0, blockNumber: 7, transactionHash: tx(0xd0), logIndex: 0 };
    const committed = { ...round, referenceCommitted: { ...at, commitment: 55n, deposit: 0n } };
    const published = { ...committed, referencePublished: { ...at, commitment: 55n, cid: "reference" } };
    const flagged = { ...published, referenceFlagged: { ...at, answerDeadline: 99 } };
    const answered = { ...flagged, referenceAnswered: { ...at, firstChunk: 0, packed: [1n], salt: 2n } };
    const cases: [string, typeof round, bigint][] = [
      ["committed, never published", committed, 0n],
      ["published", published, 55n],
      ["flagged, not answered", flagged, 0n],
      ["flagged and answered", answered, 55n],
    ];
    for (const [what, r, reference] of cases) {
      const { provider, asked } = fakeChain([0n, 0n]);
      const check = await checkRoundProofs(context(provider, SEAL_KEY), r);
      assert.deepEqual(check.failures, [], what);
      assert.equal(check.decisionInputs[6], reference, what);
      assert.equal(asked[0]?.[6], reference, what);
    }
  });

  it("fails a round whose seal key the history does not tell, without asking the verifier", async () => {
    const { provider, asked } = fakeChain([0n, 0n]);
    const check = await checkRoundProofs(context(provider, undefined), round);
    assert.deepEqual(check.failures, [
      "round 0: no AggregatorAccepted event before the round found: the seal key its decision proof is about is unknown (scan from an earlier block with --from-block)",
    ]);
    assert.deepEqual(asked, []);
    assert.deepEqual(check.outcomes, []);
  });
});
