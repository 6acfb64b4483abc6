/**
 * The checks the node makes before it works for a project, so that a mismatch fails at start-up
 * with a message that says what to fix, not hours later as a reverted `finalizeRound`:
 * - the project's circuit configuration: the model spec's `circuit` section (fetched by CID) must
 *   match the chain's `CircuitParams` and the verifier's `K_MAX` / `CHUNK`;
 * - the verifier itself: it must report the local `K_MAX` / `CHUNK` / decision input count
 *   (`7 + K_MAX + W`: the seal key and the owner's reference are among them) and accept, through `eth_call`, proofs of a
 *   trivial round made with the local proving keys (and this node's seal secret).
 *   The verdict is cached in `<data>/verifier-checks.json` by chain, verifier code and key digests,
 *   so the check costs one trivial round per verifier and key set, ever.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { Contract } from "ethers";
import { outcomeWords, simulateRound, type CircuitConfig } from "@fedmarket/core";
import {
  checkSpecAgainstProject,
  parseModelSpec,
  proofWords,
  ROUND_VERIFIER_ABI,
  writeFileAtomic,
  type FedMarketClient,
  type ProjectInfo,
} from "@fedmarket/protocol";
import { AggregatorError } from "./errors.ts";
import type { Provers } from "./provers.ts";
import { fetchBlob, type BlobSource, type NodeContext } from "./steps/context.ts";
import { readJson, toJson } from "./store.ts";

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

/** What `projectCircuitConfig` reads: the spec from IPFS, the verifier's configuration from the chain. */
export interface SpecSource extends BlobSource {
  readonly chain: { readonly client: Pick<FedMarketClient, "verifierConfig"> };
}

/** The project's circuit configuration from its spec, checked against the chain and the verifier. */
export async function projectCircuitConfig(ctx: SpecSource, project: ProjectInfo): Promise<CircuitConfig> {
  const text = new TextDecoder().decode(await fetchBlob(ctx, project.specCid, "model spec"));
  const { spec, summary } = parseModelSpec(text, `model spec ${project.specCid}`);
  return checkSpecAgainstProject(ctx.chain.client, project, spec, summary.parameters);
}

/** The verifier check, with the verdicts of this process kept in memory on top of the file cache. */
export class VerifierCheck {
  readonly #ctx: Pick<NodeContext, "chain" | "log" | "config">;
  readonly #provers: Provers;
  readonly #checked = new Set<string>();

  constructor(ctx: Pick<NodeContext, "chain" | "log" | "config">, provers: Provers) {
    this.#ctx = ctx;
    this.#provers = provers;
  }

  /**
   * Refuses to work for a project whose on-chain verifier does not match the local verification
   * keys: compares `maxTrainers`/`chunkSize`/`decisionInputCount`, then proves a trivial round
   * (one chunk, all slots empty) locally and checks both proofs with the on-chain verifier
   * (`eth_call`): the chunk proof alone (`verifyChunk`) and as a batch (`verifyChunks`, the
   * market's path, which goes through the adapter's batch verifier). The result is cached in `<data>/verifier-checks.json` by chain, verifier code
   * and key digests.
   */
  async check(project: ProjectInfo, config: CircuitConfig): Promise<void> {
    const { chain, log } = this.#ctx;
    const { chainId, dataDir } = this.#ctx.config;
    const circuits = await this.#provers.circuits(config);
    const provider = chain.client.provider;
    const adapter = new Contract(project.verifier, ROUND_VERIFIER_ABI, provider);
    const code = await provider.getCode(project.verifier);
    if (code === "0x") throw new AggregatorError("verifier", `no contract at the project's verifier ${project.verifier}`);
    const key = sha256(
      [
        chainId,
        project.verifier.toLowerCase(),
        sha256(code),
        sha256(JSON.stringify(circuits.chunk.vkey)),
        sha256(JSON.stringify(circuits.decision.vkey)),
      ].join(":"),
    );
    if (this.#checked.has(key)) return;
    const cacheFile = path.join(dataDir, "verifier-checks.json");
    const cache = (await readJson<Record<string, string>>(cacheFile)) ?? {};
    if (cache[key] !== undefined) {
      this.#checked.add(key);
      return;
    }

    const [k, c, n] = await Promise.all(
      ["maxTrainers", "chunkSize", "decisionInputCount"].map(async (f) => Number((await adapter.getFunction(f).staticCall()) as bigint)),
    );
    // [ctx, prevModel, newModel, accFinal, A.x, A.y, reference, c[K], outcome[W]] (docs/PROOF-INTERFACE.md)
    const wantInputs = 7 + config.kMax + outcomeWords(config.kMax);
    if (k !== config.kMax || c !== config.chunk || n !== wantInputs) {
      throw new AggregatorError(
        "verifier",
        `the project's verifier ${project.verifier} is for K_MAX ${k}, CHUNK ${c}, ${n} decision inputs; ` +
          `the local circuits are K_MAX ${config.kMax}, CHUNK ${config.chunk}, ${wantInputs} inputs`,
      );
    }
    log.log(
      "info",
      "verifier.check",
      `checking that the on-chain verifier ${project.verifier} accepts proofs of the local keys: one chunk and one decision proof of a trivial round (once per verifier and key set)`,
      { verifier: project.verifier },
    );
    const started = Date.now();
    // Any round does to match keys with the verifier: a zero model with a zero step (prevStep omitted).
    const trivial = simulateRound({
      config,
      prevModel: new Array<bigint>(config.chunk).fill(0n),
      slots: [],
      f: 0,
      keccak: 0n,
      secret: this.#ctx.config.sealSecret,
    });
    const pool = await this.#provers.pool(config);
    const [chunkProof, decisionProof] = await Promise.all([
      pool.prove("chunk", trivial.chunkWitnesses[0]!.input),
      pool.prove("decision", trivial.decision.input),
    ]);
    const [accIn, accOut] = trivial.chunkWitnesses[0]!.publicSignals;
    const chunkWords = proofWords(chunkProof.proof);
    const okChunk =
      Boolean(await adapter.getFunction("verifyChunk").staticCall(chunkWords, accIn, accOut)) &&
      Boolean(await adapter.getFunction("verifyChunks").staticCall([chunkWords], [accIn, accOut]));
    const okDecision = Boolean(
      await adapter.getFunction("verifyDecision").staticCall(proofWords(decisionProof.proof), [...trivial.decision.publicSignals]),
    );
    if (!okChunk || !okDecision) {
      throw new AggregatorError(
        "verifier",
        `the project's verifier ${project.verifier} rejects proofs made with the local ${!okChunk ? circuits.chunk.vkeyFile : circuits.decision.vkeyFile}: ` +
          "the proving keys do not belong to the verifier on chain. Use the keys of the verifier's setup (--circuits <dir>)",
      );
    }
    cache[key] = new Date().toISOString();
    await writeFileAtomic(cacheFile, toJson(cache));
    this.#checked.add(key);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    log.log("info", "verifier.ok", `the on-chain verifier ${project.verifier} accepts proofs of the local keys (checked in ${seconds} s)`, {
      verifier: project.verifier,
    });
  }
}
