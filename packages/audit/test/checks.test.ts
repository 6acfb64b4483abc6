/**
 * The registry of checks: every check is registered under its name, `runChecks` runs any subset in
 * the registry's order, tags every finding with the check that made it, and the facts the checks
 * share are derived once.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  AUDIT_CHECKS,
  CHECK_NAMES,
  DEFAULT_DERIVATIONS,
  runChecks,
  type AuditContext,
  type CheckName,
  type FactDerivations,
} from "../src/index.ts";
import { auditContext, projectHistory, projectInfo } from "./fixtures.ts";

/** A project whose creation the history lacks and whose spec is nowhere: each check has something to say. */
function blindContext(derive: Partial<FactDerivations> = {}): AuditContext {
  const { created: _created, ...history } = projectHistory();
  return auditContext({ history, project: projectInfo({ specCid: "nowhere" }) }, {}, derive);
}

describe("# AUDIT_CHECKS", () => {
  it("registers one check per name, in the order the audit runs them", () => {
    assert.deepEqual(Object.keys(AUDIT_CHECKS), [...CHECK_NAMES]);
    assert.deepEqual([...CHECK_NAMES], ["spec", "proofs", "models", "references", "openings", "payouts", "escrow"]);
    for (const name of CHECK_NAMES) assert.equal(typeof AUDIT_CHECKS[name], "function", name);
  });
});

describe("# runChecks", () => {
  it("runs every check and tags each finding with the check that made it, in the registry's order", async () => {
    const findings = await runChecks(blindContext());
    const order = findings.map((f) => CHECK_NAMES.indexOf(f.check));
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
      "grouped by check, in CHECK_NAMES order",
    );
    assert.deepEqual(
      findings.filter((f) => f.severity === "failure").map((f) => [f.check, f.message]),
      [
        ["spec", "project 1: no ProjectCreated event at or after block 0 (pass an earlier --from-block)"],
        ["spec", "model spec: cannot fetch nowhere from IPFS: no block for nowhere"],
      ],
    );
    for (const name of ["proofs", "models", "references", "openings", "escrow"] as const) {
      assert.ok(
        findings.some((f) => f.check === name && f.severity === "info"),
        `${name} says what it could not check`,
      );
    }
  });

  it("runs only the checks asked for, still in the registry's order", async () => {
    const findings = await runChecks(blindContext(), ["escrow", "spec"]);
    assert.deepEqual([...new Set(findings.map((f) => f.check))], ["spec", "escrow"]);
    assert.deepEqual(await runChecks(blindContext(), []), []);
  });

  it("rejects a check name it does not know", async () => {
    await assert.rejects(runChecks(blindContext(), ["spec", "vibes" as CheckName]), /no audit check named vibes/);
  });

  it("derives a fact the checks share once for all of them", async () => {
    let specReads = 0;
    const ctx = blindContext({
      spec: (c) => {
        specReads++;
        return DEFAULT_DERIVATIONS.spec(c);
      },
    });
    await runChecks(ctx);
    assert.equal(specReads, 1);
  });
});
