#!/usr/bin/env node
/**
 * Local demo, owner and aggregator side (the trainer side is `fedmarket-trainer`):
 *
 *   node src/tools/demo.ts create --rpc-url http://127.0.0.1:8545 --ipfs-repo demo/ipfs --out demo/project.json
 *       deploys FedMarket + MockRoundVerifier (unless --market), pins the spec and initial weights
 *       into the embedded IPFS folder, creates a project (Hardhat account 0 = owner, 1 = aggregator)
 *       and writes addresses, ids and the demo X25519 secret keys to --out;
 *   node src/tools/demo.ts open-updates --project-file demo/project.json
 *       fetches every update of the open round, decrypts it with the aggregator's key and checks it
 *       against its commitment on chain (what the aggregator does first).
 *
 * Demo only: the keys are Hardhat's public test keys and the verifier accepts mock proofs.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Command } from "commander";
import { JsonRpcProvider, Wallet } from "ethers";
import { commitUpdate } from "@fedmarket/core";
import {
  decodeUpdatePayload, FedMarketClient, HeliaBlobStore, openEnvelope, updateAssociatedData,
} from "@fedmarket/protocol";
import { selectBackend } from "../backend.ts";
import { createDemoProject, deployMarketWithMockVerifier, HARDHAT_KEYS } from "./demo-project.ts";

interface ProjectFile {
  rpcUrl: string; chainId: string; market: string; verifier: string; projectId: string; ipfsRepo: string;
  specCid: string; modelCid: string; aggregatorSecretKey: string; ownerSecretKey: string;
}

const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString("hex")}`;
const program = new Command().name("demo");

program.command("create")
  .option("--rpc-url <url>", "JSON-RPC endpoint", "http://127.0.0.1:8545")
  .option("--market <address>", "existing FedMarket (deployed with a MockRoundVerifier otherwise)")
  .option("--verifier <address>", "existing verifier (with --market)")
  .option("--spec <file>", "model spec", new URL("../../examples/mnist-mlp.json", import.meta.url).pathname)
  .option("--ipfs-repo <dir>", "embedded IPFS folder shared with the trainers", "demo/ipfs")
  .option("--rounds <n>", "rounds", "3")
  .option("--window <s>", "submission window in seconds", "3600")
  .option("--stake <wei>", "trainer stake in wei", "0")
  .option("--out <file>", "where to write the project file", "demo/project.json")
  .action(async (o: { rpcUrl: string; market?: string; verifier?: string; spec: string; ipfsRepo: string; rounds: string; window: string; stake: string; out: string }) => {
    const provider = new JsonRpcProvider(o.rpcUrl, undefined, { cacheTimeout: -1 });
    const owner = new Wallet(HARDHAT_KEYS[0] as string, provider);
    const aggregator = new Wallet(HARDHAT_KEYS[1] as string, provider);
    const specRaw = JSON.parse(await readFile(o.spec, "utf8")) as { circuit?: { kMax: number; chunk: number } };
    if (specRaw.circuit === undefined) throw new Error(`${o.spec} has no circuit section`);
    const deployed = o.market && o.verifier ? { market: o.market, verifier: o.verifier }
      : await deployMarketWithMockVerifier(owner, specRaw.circuit.kMax, specRaw.circuit.chunk);
    const store = await HeliaBlobStore.create({ dataDir: path.resolve(o.ipfsRepo) });
    const { tf } = await selectBackend({ log: () => {} });
    try {
      const p = await createDemoProject({
        ...deployed, owner, aggregator, store, tf, spec: specRaw, numRounds: Number(o.rounds),
        submissionWindow: Number(o.window), trainerStake: BigInt(o.stake), maxTrainersPerRound: specRaw.circuit.kMax,
      });
      const file: ProjectFile = {
        rpcUrl: o.rpcUrl, chainId: (await provider.getNetwork()).chainId.toString(), ...deployed,
        projectId: p.projectId.toString(), ipfsRepo: path.resolve(o.ipfsRepo), specCid: p.specCid, modelCid: p.modelCid,
        aggregatorSecretKey: hex(p.aggregatorKey.secretKey), ownerSecretKey: hex(p.ownerKey.secretKey),
      };
      await mkdir(path.dirname(path.resolve(o.out)), { recursive: true });
      await writeFile(o.out, `${JSON.stringify(file, null, 2)}\n`);
      console.log(`market ${deployed.market}\nverifier ${deployed.verifier}\nproject ${p.projectId} (spec ${p.specCid}, model ${p.modelCid})\nwrote ${o.out}`);
    } finally {
      await store.close();
      provider.destroy();
    }
  });

program.command("open-updates")
  .option("--project-file <file>", "written by `create`", "demo/project.json")
  .option("--round <n>", "round (default: the open round)")
  .action(async (o: { projectFile: string; round?: string }) => {
    const f = JSON.parse(await readFile(o.projectFile, "utf8")) as ProjectFile;
    const provider = new JsonRpcProvider(f.rpcUrl, undefined, { cacheTimeout: -1 });
    const client = new FedMarketClient(f.market, provider);
    const store = await HeliaBlobStore.create({ dataDir: f.ipfsRepo });
    try {
      const projectId = BigInt(f.projectId);
      const p = await client.getProject(projectId);
      const round = o.round === undefined ? p.currentRound : Number(o.round);
      const events = await client.updateSubmitted({ projectId, round });
      console.log(`project ${projectId}, round ${round}: ${events.length} update(s)`);
      for (const ev of events) {
        const env = await store.get(ev.cid);
        const ad = updateAssociatedData({ chainId: BigInt(f.chainId), market: client.address, projectId, round, trainer: ev.trainer });
        const payload = decodeUpdatePayload(openEnvelope(env, Uint8Array.from(Buffer.from(f.aggregatorSecretKey.slice(2), "hex")), { associatedData: ad }),
          { projectId, round, count: p.params.modelSize });
        const ok = commitUpdate(payload.values, payload.salt, payload.config.chunk, payload.config.updateBits) === ev.commitment;
        const nz = payload.values.filter((v) => v !== 0n).length;
        console.log(`  slot ${ev.slot} ${ev.trainer}: ${ev.cid} (${env.length} bytes) ${ok ? "opens its commitment" : "DOES NOT open its commitment"}; ${nz}/${payload.values.length} non-zero values`);
      }
    } finally {
      await store.close();
      provider.destroy();
    }
  });

await program.parseAsync(process.argv);
