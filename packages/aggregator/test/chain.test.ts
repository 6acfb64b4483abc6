/**
 * Where the aggregator's reads of a project's history start: the project's creation block, found
 * by bisecting `projectCount()` over past blocks, so no read scans the chain from block 0.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fedMarketInterface, projectCreationBlock, type FedMarketClient } from "@fedmarket/protocol";
import { AggregatorChain } from "../src/chain.ts";

const MARKET = `0x${"11".repeat(20)}`;

/** A marketplace deployed at `deployedAt` whose projects 1, 2, ... were created in the blocks `created`. */
function fakeMarket(o: { created: number[]; deployedAt: number; latest: number }) {
  const callsAt: number[] = [];
  const reads: { fromBlock: number | undefined; toBlock: number | undefined }[] = [];
  const client = {
    address: MARKET,
    provider: {
      call: async (tx: { to: string; data: string; blockTag: number }): Promise<string> => {
        assert.equal(tx.to, MARKET);
        assert.equal(tx.data, fedMarketInterface.encodeFunctionData("projectCount"));
        callsAt.push(tx.blockTag);
        if (tx.blockTag < o.deployedAt) return "0x"; // no code yet
        return fedMarketInterface.encodeFunctionResult("projectCount", [o.created.filter((b) => b <= tx.blockTag).length]);
      },
    },
    read: <T>(_what: string, fn: () => Promise<T>): Promise<T> => fn(),
    blockNumber: async (): Promise<number> => o.latest,
    queryEvents: async (_topics: unknown, options: { fromBlock?: number; toBlock?: number }): Promise<never[]> => {
      reads.push({ fromBlock: options.fromBlock, toBlock: options.toBlock });
      return [];
    },
  };
  return { client: client as unknown as FedMarketClient, callsAt, reads };
}

test("projectCreationBlock: the block each project was created in, in about log2(latest) calls", async () => {
  const m = fakeMarket({ created: [5, 9, 9, 20], deployedAt: 3, latest: 1_000 });
  assert.equal(await projectCreationBlock(m.client, 1n), 5);
  assert.equal(await projectCreationBlock(m.client, 2n), 9);
  assert.equal(await projectCreationBlock(m.client, 3n), 9);
  m.callsAt.length = 0;
  assert.equal(await projectCreationBlock(m.client, 4n), 20);
  assert.ok(m.callsAt.length <= 12, `${m.callsAt.length} calls`);
  assert.equal(await projectCreationBlock(m.client, 5n), undefined, "a project that does not exist");
});

test("AggregatorChain: a project's history starts at the block the fromBlock function gives, asked once per project", async () => {
  const m = fakeMarket({ created: [], deployedAt: 0, latest: 50 });
  const asked: bigint[] = [];
  const chain = new AggregatorChain(m.client, {
    fromBlock: async (id) => {
      asked.push(id);
      return 42;
    },
  });
  const h = await chain.history(7n);
  assert.equal(h.fromBlock, 42);
  assert.deepEqual(m.reads[0], { fromBlock: 42, toBlock: 50 });
  await chain.history(7n);
  assert.deepEqual(asked, [7n]);
  // Neither the round's RoundOpened nor ProjectCreated was seen: a round's read starts where the history does.
  const { fromBlock } = await chain.roundSubmissions(7n, 0);
  assert.equal(fromBlock, 42);
});

test("AggregatorChain: a fromBlock function that failed is asked again by the next read", async () => {
  const m = fakeMarket({ created: [], deployedAt: 0, latest: 50 });
  let calls = 0;
  const chain = new AggregatorChain(m.client, {
    fromBlock: async () => {
      calls++;
      if (calls === 1) throw new Error("endpoint down");
      return 3;
    },
  });
  await assert.rejects(chain.history(1n), /endpoint down/);
  assert.equal((await chain.history(1n)).fromBlock, 3);
});

test("AggregatorChain: without fromBlock, histories start at block 0", async () => {
  const m = fakeMarket({ created: [], deployedAt: 0, latest: 10 });
  assert.equal((await new AggregatorChain(m.client).history(1n)).fromBlock, 0);
});
