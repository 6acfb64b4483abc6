/**
 * End-to-end Groth16 over a whole round: every chunk proof and the decision proof are proven
 * with the (cached, dev) setup and verified with the exported verification keys, which must be
 * the ones committed in contracts/verifiers/. The first run generates the dev ptau (~2 min).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { simulateRound, type CircuitConfig } from "@fedmarket/core";
import { loadProver, type Prover } from "../../scripts/circuits/prover.ts";
import { renderVerifier } from "../../scripts/circuits/setup.ts";
import { SEAL_KEY, SEAL_SECRET, releaseCurves, rng, sealedTestSlot } from "./harness.ts";

const config: CircuitConfig = { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 };
let chunk: Prover;
let decision: Prover;

before(async () => {
  const log = (m: string): void => console.error(`  ${m}`);
  chunk = await loadProver("chunk_k4_c16", { kind: "dev" }, log);
  decision = await loadProver("decision_k4_c16", { kind: "dev" }, log);
});
after(releaseCurves);

test("a full round proves and verifies; public signals follow the interface order", async () => {
  const r = rng(99);
  const slots = [0, 1, 2].map((k) =>
    sealedTestSlot(
      config,
      Array.from({ length: 20 }, () => r(-900, 900)),
      BigInt(k + 5),
    ),
  );
  const round = simulateRound({
    config,
    prevModel: Array.from({ length: 20 }, () => r(-9, 9)),
    slots,
    f: 0,
    keccak: 3n << 200n,
    secret: SEAL_SECRET,
    reference: { values: Array.from({ length: 20 }, () => r(-32768, 32767)), salt: 4711n },
  });
  for (const w of round.chunkWitnesses) {
    const { proof, publicSignals, solidity } = await chunk.prove(w.input);
    assert.deepEqual(publicSignals.map(BigInt), [...w.publicSignals]);
    assert.equal(solidity.publicSignals.length, 2);
    assert.ok(await chunk.verify(publicSignals, proof));
    const wrong = [...publicSignals];
    wrong[1] = (BigInt(wrong[1] as string) + 1n).toString();
    assert.equal(await chunk.verify(wrong, proof), false);
  }
  const { proof, publicSignals } = await decision.prove(round.decision.input);
  assert.deepEqual(publicSignals.map(BigInt), [...round.decision.publicSignals]);
  // [ctx, prevModel, newModel, accFinal, sealKey.x, sealKey.y, reference, c[4], outcome[2]]
  assert.equal(publicSignals.length, 7 + 4 + 2);
  assert.deepEqual(publicSignals.slice(4, 7).map(BigInt), [...SEAL_KEY, round.reference]);
  assert.notEqual(round.reference, 0n);
  assert.ok(await decision.verify(publicSignals, proof));
  // Every public input is bound: the proof does not verify with any one of them changed (another
  // seal key, another reference commitment or none, ...).
  for (let i = 0; i < publicSignals.length; i++) {
    const tampered = [...publicSignals];
    tampered[i] = (BigInt(tampered[i] as string) + 1n).toString();
    assert.equal(await decision.verify(tampered, proof), false, `public input ${i}`);
  }
  const dropped = [...publicSignals];
  dropped[6] = "0";
  assert.equal(await decision.verify(dropped, proof), false, "the reference passed as 0");
});

test("the committed verifiers match the cached setup", async () => {
  for (const p of [chunk, decision]) {
    const files = await renderVerifier(p.setup);
    if (!existsSync(files.solidityPath)) {
      console.error(`  skipped: ${files.solidityPath} not generated yet (run scripts/circuits/build.ts)`);
      continue;
    }
    assert.equal(readFileSync(files.solidityPath, "utf8"), files.solidity);
    assert.equal(readFileSync(files.vkeyPath, "utf8"), files.vkey);
  }
});
