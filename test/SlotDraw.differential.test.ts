/**
 * Differential test of the slot draw: for random projects (1 to 40 candidates, 3 to 16 slots) on
 * the in-process Hardhat network, FedMarket's `slotOf` for every registered trainer must equal
 * @fedmarket/core's `slotOfCandidate(roundSeed(chainId, market, projectId, round,
 * blockhash(seedBlock)), n, k, registrationIndex)`, `RoundView.seed` must equal `roundSeed(...)`,
 * and exactly `min(n, k)` trainers must hold distinct slots `0 .. min(n, k) - 1`. Some projects
 * skip round 0 and are checked again in round 1 (another seed), with late registrants that must
 * wait for it.
 *
 * Then a deterministic sanity check of the draw itself (pure TypeScript, fixed seeds): over many
 * seeds each candidate is selected about `k / n` of the time, whatever its registration index, so
 * registering early (or many addresses) buys no more than the stake's share of the slots.
 *
 * Reproducible: `FUZZ_SEED=<n>` draws another sequence of projects.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { keccak256, toUtf8Bytes } from "ethers";

import { drawSlots, roundSeed, slotOfCandidate } from "@fedmarket/core";
import type { FedMarket, MockRoundVerifier } from "../types/ethers-contracts/index.js";
import { CHUNK_SIZE, SEAL_KEY, baseConfig, drawSeed, toAggregationWindow } from "./helpers/market.js";

const { ethers, networkHelpers } = await network.create();

const MAX_CANDIDATES = 40;
const MAX_SLOTS = 16;
const PROJECTS = 30;
const SEED = BigInt(process.env.FUZZ_SEED ?? "20250214");

/** A small seeded generator (xorshift64*): the same seed replays the same projects. */
class Random {
  #s: bigint;

  constructor(seed: bigint) {
    this.#s = seed & ((1n << 64n) - 1n) || 1n;
  }

  int(lo: number, hi: number): number {
    const mask = (1n << 64n) - 1n;
    this.#s ^= this.#s >> 12n;
    this.#s ^= (this.#s << 25n) & mask;
    this.#s ^= this.#s >> 27n;
    const v = (this.#s * 0x2545f4914f6cdd1dn) & mask;
    return lo + Number(v % BigInt(hi - lo + 1));
  }

  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
}

interface Env {
  market: FedMarket;
  verifier: MockRoundVerifier;
  owner: HardhatEthersSigner;
  aggregator: HardhatEthersSigner;
  /** More trainers than Hardhat's 20 accounts: impersonated, funded addresses. */
  trainers: HardhatEthersSigner[];
}

async function deployEnv(): Promise<Env> {
  const [owner, aggregator] = await ethers.getSigners();
  if (owner === undefined || aggregator === undefined) throw new Error("need signers");
  const market = (await ethers.deployContract("FedMarket")) as unknown as FedMarket;
  const verifier = (await ethers.deployContract("MockRoundVerifier", [MAX_SLOTS, CHUNK_SIZE])) as unknown as MockRoundVerifier;
  const trainers: HardhatEthersSigner[] = [];
  for (let i = 0; i < MAX_CANDIDATES; i++) {
    const address = ethers.getAddress(keccak256(toUtf8Bytes(`slot-draw-trainer-${i}`)).slice(0, 42));
    await networkHelpers.impersonateAccount(address);
    await networkHelpers.setBalance(address, 10n ** 20n);
    trainers.push(await ethers.getSigner(address));
  }
  return { market, verifier, owner, aggregator, trainers };
}

/**
 * Checks the open round's seed and every registered trainer's slot against @fedmarket/core;
 * `registered` lists the trainers in registration order (index = position).
 */
async function checkDraw(env: Env, projectId: bigint, registered: readonly HardhatEthersSigner[], at: string): Promise<void> {
  const round = await env.market.getCurrentRound(projectId);
  const n = Number(round.candidates);
  const k = Number((await env.market.getProject(projectId)).maxTrainersPerRound);
  const opening = await ethers.provider.getBlock(Number(round.seedBlock));
  const { chainId } = await ethers.provider.getNetwork();
  const seed = roundSeed(chainId, await env.market.getAddress(), projectId, Number(round.round), opening!.hash!);
  expect(seed, `${at}: seed`).to.not.equal(0n);
  expect(await drawSeed(env.market, projectId), `${at}: drawSeed`).to.equal(seed);
  expect((await env.market.getCurrentRound(projectId)).seed, `${at}: RoundView.seed`).to.equal(seed);

  const slots: number[] = [];
  for (const [index, t] of registered.entries()) {
    const [ready, selected, slot] = await env.market.slotOf(projectId, t.address);
    const want = slotOfCandidate(seed, n, k, index);
    expect([ready, selected ? Number(slot) : null], `${at}: candidate ${index} of ${n}, ${k} slots`).to.deep.equal([true, want]);
    if (selected) slots.push(Number(slot));
  }
  expect(slots.length, `${at}: selected`).to.equal(Math.min(n, k));
  expect(
    [...slots].sort((a, b) => a - b),
    `${at}: distinct slots`,
  ).to.deep.equal(Array.from({ length: Math.min(n, k) }, (_, s) => s));
}

describe("Slot draw: FedMarket against @fedmarket/core (differential)", function () {
  this.timeout(0);

  let env: Env;
  before(async function () {
    env = await deployEnv();
  });

  for (let i = 0; i < PROJECTS; i++) {
    it(`project ${i}: slotOf and the seed equal slotOfCandidate / roundSeed, min(n, k) distinct slots`, async function () {
      const rng = new Random(SEED * 1_000_003n + BigInt(i));
      const n = rng.int(1, MAX_CANDIDATES);
      const k = rng.int(3, MAX_SLOTS);
      const at = `project ${i} (n = ${n}, k = ${k}, seed ${SEED})`;
      const config = baseConfig({
        verifier: await env.verifier.getAddress(),
        aggregator: env.aggregator.address,
        maxTrainersPerRound: k,
        budget: 0n,
        rewardPerRound: 0n,
        aggregatorBond: 0n,
        slashAmount: 0n,
      });
      await env.market.connect(env.owner).createProject(config);
      const projectId = await env.market.projectCount();
      // Registration order (the candidate index) is a random permutation of the addresses.
      const order = rng.shuffle(env.trainers);
      const registered = order.slice(0, n);
      for (const t of registered) await env.market.connect(t).registerTrainer(projectId, []);
      await env.market.connect(env.aggregator).acceptAggregator(projectId, SEAL_KEY, 0n, 0n);
      await checkDraw(env, projectId, registered, `${at} round 0`);

      if (i % 3 === 0 && n < MAX_CANDIDATES) {
        // Late registrants are no candidates of the open round...
        const late = order.slice(n, Math.min(MAX_CANDIDATES, n + rng.int(1, 8)));
        for (const t of late) {
          await env.market.connect(t).registerTrainer(projectId, []);
          expect(await env.market.slotOf(projectId, t.address), `${at}: late registrant`).to.deep.equal([true, false, 0n]);
        }
        // ...but of the next one, drawn with another seed.
        await toAggregationWindow({ market: env.market, time: networkHelpers.time }, projectId);
        await env.market.skipRound(projectId);
        expect((await env.market.getCurrentRound(projectId)).candidates).to.equal(BigInt(n + late.length));
        await checkDraw(env, projectId, [...registered, ...late], `${at} round 1`);
      }
    });
  }

  describe("the draw itself (pure, fixed seeds)", function () {
    // Enough seeds that +-35 % of k / n is over 4.5 standard deviations for every case below.
    const SEEDS = Array.from({ length: 2500 }, (_, j) => BigInt(keccak256(toUtf8Bytes(`slot-draw-seed-${j}`))));

    for (const [n, k] of [
      [40, 16],
      [40, 3],
      [17, 16],
      [10, 3],
      [5, 4],
    ] as const) {
      it(`${n} candidates, ${k} slots: k distinct candidates per seed, each selected about k / n of the time`, function () {
        const counts = new Array<number>(n).fill(0);
        for (const [j, seed] of SEEDS.entries()) {
          const drawn = drawSlots(seed, n, k);
          expect(drawn).to.have.length(k);
          expect(new Set(drawn).size).to.equal(k);
          for (const c of drawn) {
            expect(c).to.be.within(0, n - 1);
            counts[c]!++;
          }
          if (j < 50) {
            for (let index = 0; index < n; index++)
              expect(slotOfCandidate(seed, n, k, index)).to.equal(drawn.includes(index) ? drawn.indexOf(index) : null);
          }
        }
        const expected = (SEEDS.length * k) / n;
        for (const [index, count] of counts.entries()) {
          expect(count, `candidate ${index}: selected ${count} times, expected about ${expected}`).to.be.within(
            expected * 0.65,
            expected * 1.35,
          );
        }
      });
    }

    it("with no more candidates than slots, candidate i always takes slot i", function () {
      for (const seed of SEEDS.slice(0, 20)) {
        for (let n = 1; n <= 16; n++) expect(drawSlots(seed, n, 16)).to.deep.equal(Array.from({ length: n }, (_, i) => i));
      }
    });
  });
});
