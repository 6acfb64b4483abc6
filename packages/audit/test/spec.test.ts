/**
 * The spec check: the history holds the project's creation, and the spec pinned at `specCid`
 * describes the project on chain.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkSpec } from "../src/index.ts";
import {
  auditContext,
  D,
  FROZEN_PARAMETERS,
  frozenBackbone,
  frozenSpec,
  MemoryStore,
  pinFrozenWeights,
  pinSpec,
  projectHistory,
  projectInfo,
  PROJECT_ID,
  SPEC,
} from "./fixtures.ts";

describe("# checkSpec", () => {
  it("finds nothing for a spec that describes the project on chain", async () => {
    const store = new MemoryStore();
    const ctx = auditContext({ history: projectHistory(), store, project: projectInfo({ specCid: await pinSpec(store) }) });
    assert.deepEqual(await checkSpec(ctx), []);
    const spec = await ctx.spec();
    assert.ok(spec.ok);
    assert.deepEqual(spec.circuit, SPEC.circuit);
  });

  it("fails a spec that does not match the chain's parameters, naming each difference", async () => {
    const store = new MemoryStore();
    const specCid = await pinSpec(store);
    const ctx = auditContext({
      history: projectHistory(),
      store,
      project: projectInfo({ specCid, params: { modelSize: 53, byzantineTolerance: 1, quantizationScale: 4096n, clipBound: 4096n } }),
    });
    assert.deepEqual(await checkSpec(ctx), [
      {
        check: "spec",
        severity: "failure",
        message: `model spec ${specCid}: the model spec does not match the project on chain (model size: spec 52, chain 53)`,
      },
    ]);
  });

  it("fails a spec that cannot be fetched, and one that is no valid spec", async () => {
    const store = new MemoryStore();
    const missing = await checkSpec(auditContext({ history: projectHistory(), store, project: projectInfo({ specCid: "nowhere" }) }));
    assert.deepEqual(
      missing.map((f) => f.message),
      ["model spec: cannot fetch nowhere from IPFS: no block for nowhere"],
    );
    const specCid = await pinSpec(store, { ...SPEC, format: "something-else" });
    const [invalid] = await checkSpec(auditContext({ history: projectHistory(), store, project: projectInfo({ specCid }) }));
    assert.match(invalid?.message ?? "", new RegExp(`^model spec ${specCid}: .*format`));
  });

  it("finds nothing for a spec with frozen layers whose weights are in the store, and hands them on", async () => {
    const store = new MemoryStore();
    const backbone = frozenBackbone();
    const frozenCid = await pinFrozenWeights(backbone, store);
    const ctx = auditContext({
      history: projectHistory(),
      store,
      project: projectInfo({ specCid: await pinSpec(store, frozenSpec(frozenCid)) }),
    });
    assert.deepEqual(await checkSpec(ctx), []);
    const spec = await ctx.spec();
    assert.ok(spec.ok);
    assert.equal(spec.spec.frozenWeights, frozenCid);
    assert.equal(spec.parameters, D, "D counts the trainable head only");
    assert.ok(spec.frozen.ok, JSON.stringify(spec.frozen));
    assert.deepEqual(spec.frozen.weights, backbone);
  });

  it("fails a spec whose frozen layers' weights are missing from the store, naming their CID", async () => {
    const store = new MemoryStore();
    const frozenCid = await pinFrozenWeights(frozenBackbone());
    const ctx = auditContext({
      history: projectHistory(),
      store,
      project: projectInfo({ specCid: await pinSpec(store, frozenSpec(frozenCid)) }),
    });
    assert.deepEqual(await checkSpec(ctx), [
      {
        check: "spec",
        severity: "failure",
        message: `frozen layers' weights: cannot fetch ${frozenCid} from IPFS: no block for ${frozenCid}`,
      },
    ]);
    const spec = await ctx.spec();
    assert.ok(spec.ok && !spec.frozen.ok);
    assert.equal(spec.frozen.problem.kind, "unfetchable");
  });

  it("fails a spec whose frozen layers' weights have the wrong length, naming their CID", async () => {
    const store = new MemoryStore();
    for (const length of [FROZEN_PARAMETERS - 1, FROZEN_PARAMETERS + 12, D]) {
      const frozenCid = await pinFrozenWeights(frozenBackbone(length), store);
      const specCid = await pinSpec(store, frozenSpec(frozenCid));
      const findings = await checkSpec(auditContext({ history: projectHistory(), store, project: projectInfo({ specCid }) }));
      assert.equal(findings.length, 1, `${length} values: ${JSON.stringify(findings)}`);
      const [finding] = findings;
      assert.ok(finding);
      assert.deepEqual([finding.check, finding.severity], ["spec", "failure"]);
      assert.ok(finding.message.startsWith(`frozen layers' weights ${frozenCid}: `), finding.message);
      assert.match(finding.message, new RegExp(`do not fit the spec's frozen layers \\(${FROZEN_PARAMETERS} values\\)`));
    }
  });

  it("fails a history that lacks the project's creation, saying how to read more", async () => {
    const store = new MemoryStore();
    const { created: _created, ...history } = projectHistory({ fromBlock: 42 });
    const findings = await checkSpec(auditContext({ history, store, project: projectInfo({ specCid: await pinSpec(store) }) }));
    assert.deepEqual(
      findings.map((f) => f.message),
      [`project ${PROJECT_ID}: no ProjectCreated event at or after block 42 (pass an earlier --from-block)`],
    );
  });
});
