/**
 * Gas of batch verification of chunk proofs (issue 14, item 1): writes bench/gas-batch.json.
 *
 *   npx hardhat run scripts/gas-batch.ts
 *
 * Real proofs of the K8 chunk circuit (chunk_k8_c128_b8_g24, dev setup cached in .cache/circuits/; the
 * first run without it compiles and sets the circuit up, several minutes) for one round over 8 chunks,
 * verified by the generated BatchChunkVerifier_k8_c128_b8_g24 in batches of 1..8 proofs, against one
 * proof through the generated single verifier, directly and through Groth16RoundVerifier.verifyChunk
 * (what FedMarket paid per chunk proof before it batched them), and the whole batch through
 * Groth16RoundVerifier.verifyChunks (what FedMarket calls once per submission). Gas is a transaction's gasUsed minus 21000, so calldata
 * is included; eth_estimateGas is not used because a snarkjs verifier given too little gas returns
 * false instead of reverting.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { network } from "hardhat";

import { publicKeyOf, sealedSlot, simulateRound, type CircuitConfig } from "@fedmarket/core";
import { proofWords } from "@fedmarket/protocol";
import { loadProver, releaseCurves } from "./circuits/prover.ts";
import { deployGroth16RoundVerifier } from "../test/helpers/round-verifier.ts";
import { rng } from "./circuits/xorshift.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const TARGET = "chunk_k8_c128_b8_g24";
const SUFFIX = TARGET.slice("chunk_".length);
const config: CircuitConfig = { kMax: 8, chunk: 128, updateBits: 8, modelBits: 24 };
const CHUNKS = 8;
/** The aggregator's secret scalar (public: benchmark only); the updates are sealed for its key. */
const SEAL_SECRET = 0x6a5b47c4n;

const { ethers } = await network.create();
const [signer] = await ethers.getSigners();
if (signer === undefined) throw new Error("no signer");

/** A round of 5 trainers (updates sealed for the aggregator's key) over CHUNKS full chunks: its chunk proofs and accumulator chain. */
async function chunkChain(): Promise<{ proofs: bigint[][]; accs: bigint[] }> {
  const rand = rng(7);
  const d = CHUNKS * config.chunk;
  const base = Array.from({ length: d }, () => rand(-60, 60));
  const slots = [0, 1, 2, 3, 4].map((k) =>
    sealedSlot(
      config,
      base.map((v) => v + rand(-8, 8)),
      publicKeyOf(SEAL_SECRET),
      BigInt(k + 1),
    ),
  );
  const prevModel = Array.from({ length: d }, (_, i) => BigInt((i % 200) - 100));
  const round = simulateRound({ config, prevModel, slots, f: 1, keccak: 1n << 200n, secret: SEAL_SECRET });
  const prover = await loadProver(TARGET, { kind: "dev" }, (m) => console.error(`[circuits] ${m}`));
  const proofs: bigint[][] = [];
  const accs: bigint[] = [round.chunkWitnesses[0]!.publicSignals[0]];
  for (const [j, w] of round.chunkWitnesses.entries()) {
    const started = Date.now();
    const { proof } = await prover.prove(w.input);
    console.error(`proved chunk ${j + 1}/${CHUNKS} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    proofs.push(proofWords(proof));
    accs.push(w.publicSignals[1]);
  }
  return { proofs, accs };
}

async function txGas(to: string, data: string): Promise<number> {
  const receipt = await (await signer!.sendTransaction({ to, data, gasLimit: 15_000_000n })).wait();
  if (receipt === null) throw new Error("no receipt");
  return Number(receipt.gasUsed) - 21000;
}

try {
  const { proofs, accs } = await chunkChain();
  const single = await ethers.deployContract(`ChunkVerifier_${SUFFIX}`);
  const batch = await ethers.deployContract(`BatchChunkVerifier_${SUFFIX}`);
  const adapter = await deployGroth16RoundVerifier(ethers, {
    chunkVerifier: await single.getAddress(),
    batchChunkVerifier: await batch.getAddress(),
    decisionVerifier: ethers.ZeroAddress,
    circuit: config,
  });

  const p = proofs[0]!;
  const [accIn, accOut] = [accs[0]!, accs[1]!];
  const singleArgs = [
    [p[0], p[1]],
    [
      [p[2], p[3]],
      [p[4], p[5]],
    ],
    [p[6], p[7]],
    [accIn, accOut],
  ] as const;
  if (!(await single.getFunction("verifyProof").staticCall(...singleArgs))) throw new Error("single verifier rejects the proof");
  if (!(await adapter.getFunction("verifyChunk").staticCall(p, accIn, accOut))) throw new Error("adapter rejects the proof");
  const singleDirect = await txGas(await single.getAddress(), single.interface.encodeFunctionData("verifyProof", singleArgs));
  const singleAdapter = await txGas(await adapter.getAddress(), adapter.interface.encodeFunctionData("verifyChunk", [p, accIn, accOut]));

  const batchGas: { proofs: number; gas: number }[] = [];
  for (let n = 1; n <= proofs.length; n++) {
    const args = [proofs.slice(0, n), accs.slice(0, n + 1)] as const;
    if (!(await batch.getFunction("verifyChunkBatch").staticCall(...args))) throw new Error(`batch of ${n} rejected`);
    batchGas.push({ proofs: n, gas: await txGas(await batch.getAddress(), batch.interface.encodeFunctionData("verifyChunkBatch", args)) });
  }
  if (!(await adapter.verifyChunks(proofs, accs))) throw new Error("adapter rejects the batch");
  const adapterBatch = {
    proofs: proofs.length,
    gas: await txGas(await adapter.getAddress(), adapter.interface.encodeFunctionData("verifyChunks", [proofs, accs])),
  };
  const first = batchGas[0]!.gas;
  const last = batchGas.at(-1)!;
  const perExtra = Math.round((last.gas - first) / (last.proofs - 1));

  const result = {
    batchedPerExtraChunkProof: perExtra,
    singlePerChunkProof: singleAdapter,
    batchGas,
    adapterBatch,
    singleDirectPerChunkProof: singleDirect,
    circuit: TARGET,
    proofs: `real Groth16 proofs of ${TARGET} (dev setup), one round of ${CHUNKS} chunks`,
    method:
      "transaction gasUsed - 21000 (calldata included); singlePerChunkProof = Groth16RoundVerifier.verifyChunk (FedMarket's call per chunk " +
      "proof before batching), singleDirectPerChunkProof = the generated verifier's verifyProof; batchedPerExtraChunkProof = " +
      "(gas(8) - gas(1)) / 7 of BatchChunkVerifier verifyChunkBatch; adapterBatch = Groth16RoundVerifier.verifyChunks of every proof " +
      "(FedMarket's one call per submission)",
  };
  console.log(`single chunk proof: ${singleAdapter} gas via Groth16RoundVerifier.verifyChunk, ${singleDirect} gas direct`);
  console.log(`batch of ${adapterBatch.proofs} through Groth16RoundVerifier.verifyChunks: ${adapterBatch.gas} gas`);
  console.log(`batch: ${batchGas.map((b) => `${b.proofs}: ${b.gas}`).join(", ")}`);
  console.log(
    `per extra proof in a batch: ${perExtra} gas (steps ${batchGas
      .slice(1)
      .map((b, i) => b.gas - batchGas[i]!.gas)
      .join(", ")})`,
  );
  const out = join(root, "bench", "gas-batch.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote bench/gas-batch.json`);
} finally {
  await releaseCurves();
}
