/**
 * The models check: every recorded model commitment against the model pinned at its CID (an
 * in-memory store, a real spec and real commitments), and the chain of models round to round.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ProjectHistory } from "@fedmarket/protocol";
import { checkModels, type AuditContext, type FactDerivations, type Finding } from "../src/index.ts";
import {
  auditContext,
  finalized,
  MemoryStore,
  opened,
  pinModel,
  pinSpec,
  projectHistory,
  projectInfo,
  roundHistory,
  tx,
} from "./fixtures.ts";

interface Models {
  store: MemoryStore;
  m0: { cid: string; commitment: bigint };
  m1: { cid: string; commitment: bigint };
  specCid: string;
}

async function pinned(): Promise<Models> {
  const store = new MemoryStore();
  const m0 = await pinModel(store, 1);
  return { store, specCid: await pinSpec(store), m0, m1: await pinModel(store, 2, m0) };
}

/** Created on m0; round 0 finalized with `recorded` (default m1); round 1 opened on `opensOn` (default what round 0 recorded). */
function history(m: Models, recorded = m.m1, opensOn = recorded): ProjectHistory {
  const base = projectHistory();
  return {
    ...base,
    created:
      base.created === undefined ? undefined : { ...base.created, initialModelCid: m.m0.cid, initialModelCommitment: m.m0.commitment },
    rounds: [
      roundHistory({ round: 0, opened: opened(0, 2, 1000n, m.m0), end: finalized(0, tx(0xf0), { totalScore: 1n, paid: 1n, ...recorded }) }),
      roundHistory({ round: 1, opened: opened(1, 70, 1000n, opensOn) }),
    ],
  };
}

function context(m: Models, h: ProjectHistory, current = m.m1.commitment, derive: Partial<FactDerivations> = {}): AuditContext {
  return auditContext({ history: h, store: m.store, project: projectInfo({ specCid: m.specCid, modelCommitment: current }) }, {}, derive);
}

const messages = (findings: readonly Finding[]): string[] => findings.map((f) => f.message);

describe("# checkModels", () => {
  it("finds nothing when every pinned model makes its recorded commitment and each round opens on the last one", async () => {
    const m = await pinned();
    assert.deepEqual(await checkModels(context(m, history(m))), []);
  });

  it("fails a recorded commitment the pinned model does not make, naming the round, CID and both values", async () => {
    const m = await pinned();
    const wrong = { cid: m.m1.cid, commitment: m.m1.commitment + 1n };
    const findings = await checkModels(context(m, history(m, wrong), wrong.commitment));
    assert.deepEqual(findings, [
      {
        check: "models",
        severity: "failure",
        round: 0,
        message: `round 0 model: the model pinned at ${m.m1.cid} commits to ${m.m1.commitment}, the chain recorded ${wrong.commitment}`,
      },
    ]);
  });

  it("commits each round's model with its step from the model the round opened on; a round that aggregated nobody, with a zero step", async () => {
    const m = await pinned();
    // m1 committed as if it were an initial model (no step): not what round 0's proof made.
    const stepless = { cid: m.m1.cid, commitment: (await pinModel(m.store, 2)).commitment };
    const findings = messages(await checkModels(context(m, history(m, stepless), stepless.commitment)));
    assert.deepEqual(findings, [
      `round 0 model: the model pinned at ${m.m1.cid} commits to ${m.m1.commitment}, the chain recorded ${stepless.commitment}`,
    ]);
    // Nobody aggregated: the same weights file, committed with a zero step (the initial model's commitment here).
    assert.deepEqual(await checkModels(context(m, history(m, m.m0), m.m0.commitment)), []);
  });

  it("fails a model whose step cannot be made: the model its round opened on cannot be read", async () => {
    const m = await pinned();
    const h = history(m);
    const gone = { cid: "gone", commitment: m.m0.commitment };
    const rounds = [{ ...h.rounds[0]!, opened: opened(0, 2, 1000n, gone) }, ...h.rounds.slice(1)];
    assert.deepEqual(messages(await checkModels(context(m, { ...h, rounds }))), [
      "round 0 model: its commitment cannot be checked: the model it replaced (gone) cannot be read, so neither can its step",
    ]);
  });

  it("fails a model that cannot be fetched, and one that is no weights file for the spec", async () => {
    const m = await pinned();
    const gone = { cid: "gone", commitment: 5n };
    assert.deepEqual(messages(await checkModels(context(m, history(m, gone), 5n))), [
      "round 0 model: cannot fetch gone from IPFS: no block for gone",
    ]);
    const junk = { cid: await m.store.put(new Uint8Array([1, 2, 3])), commitment: 5n };
    const [invalid] = messages(await checkModels(context(m, history(m, junk), 5n)));
    assert.match(invalid ?? "", new RegExp(`^round 0 model: the model pinned at ${junk.cid} is not a valid weights file for the spec: `));
  });

  it("fails a round opened on another model than the last recorded one, and a current model that is not the last", async () => {
    const m = await pinned();
    const findings = messages(await checkModels(context(m, history(m, m.m1, m.m0), m.m0.commitment)));
    assert.deepEqual(findings, [
      `round 1: opened on model ${m.m0.commitment}, but the last recorded model is ${m.m1.commitment}`,
      `project: the current model commitment ${m.m0.commitment} is not the last recorded one (${m.m1.commitment})`,
    ]);
  });

  it("warns, never fails, when a model cannot be evaluated on the validation set", async () => {
    const m = await pinned();
    const findings = await checkModels(
      context(m, history(m), m.m1.commitment, { accuracy: async () => ({ ok: false, detail: "shape mismatch" }) }),
    );
    assert.deepEqual(
      findings.map((f) => [f.severity, f.message]),
      [
        ["warning", "accuracy: shape mismatch"],
        ["warning", "accuracy: shape mismatch"],
      ],
    );
  });

  it("without a usable spec only downloads the models (and says so)", async () => {
    const m = await pinned();
    const ctx = auditContext({
      history: history(m),
      store: m.store,
      project: projectInfo({ specCid: "nowhere", modelCommitment: m.m1.commitment }),
    });
    assert.deepEqual(
      (await checkModels(ctx)).map((f) => f.severity),
      ["info"],
    );
  });
});
