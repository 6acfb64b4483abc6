#!/usr/bin/env node
/**
 * Trainer benchmark: writes bench/trainer.json (relative to the repository root).
 *
 *   node packages/testkit/src/bench/bench-trainer.ts [--samples 6000] [--repeats 3] [--out ../../bench/trainer.json]
 *
 * Measures, for the MNIST MLP 784-32-10 (examples/mnist-mlp.json, D = 25,450):
 * - local training throughput (samples/s) for `--samples` samples, 1 epoch, on the selected backend;
 * - each protocol step of a round, separately from training (median of `--repeats` runs):
 *   download (fetch + CID check of spec and global model from the embedded IPFS node, decode),
 *   modelCheck (the global model against the on-chain model commitment), quantize, seal (`sealUpdate`:
 *   Poseidon keystream encryption for the aggregator's seal key, ciphertext chain and commitment, the
 *   owner's wrap, the `FMSU` blob), commit (the ciphertext chain and commitment alone, recomputed: the
 *   part of seal that hashes), upload/pin (embedded Helia on disk), submit tx (`commitUpdate` sent and
 *   mined on a local `hardhat node`, one per trainer account).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Command } from "commander";
import { Wallet } from "ethers";
import {
  bytes32ToBytes,
  decodeSealedUpdate,
  decodeWeights,
  FedMarketClient,
  globalModelCommitment,
  HeliaBlobStore,
  jsonRpcProvider,
  parseModelSpec,
  sealUpdate,
  sealedCommitment,
  REPO_ROOT,
} from "@fedmarket/protocol";
import { cipherChain, sealedCommitment as updateCommitment } from "@fedmarket/core";
import {
  selectBackend,
  type BackendName,
  trainLocally,
  type Dataset,
  permutation,
  seededRandom,
  loadMnistPackageDigits,
  MNIST_PIXELS,
} from "@fedmarket/ml";
import { quantizeDelta } from "@fedmarket/trainer";
import { createDemoProject, deployMarketWithMockVerifier, HARDHAT_KEYS } from "../chain/demo-project.ts";
import { startLocalChain } from "../chain/local-chain.ts";

const opts = new Command()
  .option("--samples <n>", "training samples", "6000")
  .option("--repeats <n>", "repetitions of each protocol step (median reported; submit: one per trainer, max 3)", "3")
  .option("--backend <name>", "force a backend")
  .option("--out <file>", "output file", path.join(REPO_ROOT, "bench", "trainer.json"))
  .parse()
  .opts<{ samples: string; repeats: string; backend?: BackendName; out: string }>();

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const round2 = (x: number): number => Math.round(x * 100) / 100;
async function time<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

const info = await selectBackend(opts.backend ? { prefer: [opts.backend] } : {});
const specPath = path.join(REPO_ROOT, "packages", "trainer", "examples", "mnist-mlp.json");
const specText = await readFile(specPath, "utf8");
const { spec, summary } = parseModelSpec(specText, specPath);
const circuit = spec.circuit;
if (circuit === undefined) throw new Error("examples/mnist-mlp.json needs a circuit section");

const tmp = await mkdtemp(path.join(os.tmpdir(), "fedmarket-bench-trainer-"));
const chain = await startLocalChain({ log: (m) => console.error(m) });
const provider = jsonRpcProvider(chain.url, undefined, { pollingIntervalMs: 100 });
const store = await HeliaBlobStore.create({ dataDir: path.join(tmp, "ipfs") });
try {
  const owner = new Wallet(HARDHAT_KEYS[0] as string, provider);
  const aggregator = new Wallet(HARDHAT_KEYS[1] as string, provider);
  const { market, verifier } = await deployMarketWithMockVerifier(owner, circuit.kMax, circuit.chunk);
  const project = await createDemoProject({
    market,
    verifier,
    owner,
    aggregator,
    store,
    tf: info.tf,
    spec: JSON.parse(specText),
    submissionWindow: 86_400,
    // the three accounts that send the measured commit transactions
    trainers: [2, 3, 4].map((i) => new Wallet(HARDHAT_KEYS[i] as string, provider)),
  });
  const chainId = (await provider.getNetwork()).chainId;

  // --- training ------------------------------------------------------------------------------
  const digits = loadMnistPackageDigits();
  const n = Math.min(Number(opts.samples), digits.count);
  const idx = permutation(digits.count, seededRandom(1)).subarray(0, n);
  const features = new Float32Array(n * MNIST_PIXELS);
  const labels = new Int32Array(n);
  idx.forEach((i, k) => {
    for (let p = 0; p < MNIST_PIXELS; p++) features[k * MNIST_PIXELS + p] = (digits.images[i * MNIST_PIXELS + p] as number) / 255;
    labels[k] = digits.labels[i] as number;
  });
  const dataset: Dataset = { features, labels, count: n, sampleShape: [...spec.inputShape], source: "mnist" };
  const training = await trainLocally({ tf: info.tf, spec, globalWeights: project.weights, dataset, seed: 1 });
  console.error(`training: ${n} samples, ${Math.round(training.samplesPerSecond)} samples/s (${training.backend})`);

  // --- protocol steps ------------------------------------------------------------------------
  const repeats = Math.max(1, Number(opts.repeats));
  const steps: Record<string, number[]> = {
    download: [],
    modelCheck: [],
    quantize: [],
    seal: [],
    commit: [],
    uploadPin: [],
    submitTx: [],
  };
  let sealedBytes = 0;
  const p = await new FedMarketClient(market, provider).getProject(project.projectId);
  for (let r = 0; r < repeats; r++) {
    const trainer = new Wallet(HARDHAT_KEYS[2 + (r % 3)] as string, provider);
    const client = new FedMarketClient(market, trainer);
    const [w, download] = await time(async () => {
      const s = await store.get(p.specCid);
      parseModelSpec(new TextDecoder().decode(s));
      return decodeWeights(await store.get(p.modelCid), summary.parameters);
    });
    const [, modelCheck] = await time(() => {
      // Round 0 opens on the initial model, committed with a zero step: no history to read (a later round's trainer derives it).
      if (globalModelCommitment(w, undefined, spec.quantization.scale, circuit) !== p.modelCommitment) throw new Error("model mismatch");
    });
    const [q, quantize] = await time(() => quantizeDelta(training.delta, spec.quantization, circuit.updateBits));
    const [{ blob, commitment }, seal] = await time(() =>
      sealUpdate({
        chainId,
        market,
        projectId: p.id,
        round: 0,
        trainer: trainer.address,
        config: circuit,
        values: q,
        sealKey: p.aggregatorSealKey,
        ownerKey: bytes32ToBytes(p.ownerEncryptionKey),
      }),
    );
    const { sealed: ciphertext } = decodeSealedUpdate(blob);
    const [recomputed, commit] = await time(() => updateCommitment(cipherChain(ciphertext.chunks), ciphertext.ephemeral));
    if (recomputed !== commitment) throw new Error("the sealed update does not open its commitment");
    sealedBytes = blob.length;
    const [cid, uploadPin] = await time(() => store.put(blob));
    steps.download!.push(download);
    steps.modelCheck!.push(modelCheck);
    steps.quantize!.push(quantize);
    steps.seal!.push(seal);
    steps.commit!.push(commit);
    steps.uploadPin!.push(uploadPin);
    if (r < 3) {
      const sealed = sealedCommitment(chainId, market, p.id, 0, trainer.address, commitment, cid);
      const [, submitTx] = await time(async () => client.wait(await client.commitUpdate(p.id, 0, sealed)));
      steps.submitTx!.push(submitTx);
    }
  }
  const result = {
    generatedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "unknown", node: process.version },
    backend: { name: info.name, details: info.details },
    model: { spec: spec.name, parameters: summary.parameters, circuit },
    training: {
      samples: n,
      epochs: training.epochs,
      batchSize: spec.training.batchSize,
      durationMs: Math.round(training.durationMs),
      samplesPerSecond: Math.round(training.samplesPerSecond),
      finalLoss: round2(training.epochLosses.at(-1) ?? Number.NaN),
    },
    protocolMs: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, round2(median(v))])),
    protocolRuns: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, v.map(round2)])),
    notes: {
      download: "spec + global model from the embedded Helia node on disk (CID re-derived and checked), decode",
      modelCheck: "global model quantized (BG bits) and its Poseidon model commitment compared with the chain's",
      seal:
        "sealUpdate (@fedmarket/protocol): pack, Poseidon counter-mode keystream under the BabyJubJub shared key with the aggregator's seal key, " +
        "ciphertext chain + commitment Poseidon(chain, E), the ephemeral secret wrapped for the owner's X25519 key, FMSU encoding",
      commit:
        "the part of seal that hashes: Poseidon chain over the ceil(D / chunk) ciphertext chunks + Poseidon(chain, E.x, E.y), recomputed alone",
      uploadPin: "put + pin on the embedded Helia node (blockstore-fs); a Kubo node adds an HTTP round trip",
      submitTx:
        "commitUpdate (the sealed commitment; the reveal is a second transaction of the same size): estimateGas + send + receipt on a local hardhat node (automine)",
      sealedBytes,
    },
  };
  await mkdir(path.dirname(opts.out), { recursive: true });
  await writeFile(opts.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
} finally {
  await store.close();
  provider.destroy();
  await chain.stop();
  await rm(tmp, { recursive: true, force: true });
}
