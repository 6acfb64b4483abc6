/**
 * The references check: a published reference must open the round's committed commitment (a real
 * spec, real commitments, an in-memory store); a committed reference never published is a warning
 * once the round ended.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { quantizeReference, referenceCommitment } from "@fedmarket/core";
import { encodeReference, type ProjectHistory, type RoundHistory } from "@fedmarket/protocol";
import { checkReferences, type Finding } from "../src/index.ts";
import {
  at,
  auditContext,
  CIRCUIT,
  D,
  finalized,
  MemoryStore,
  pinSpec,
  PROJECT_ID,
  projectHistory,
  projectInfo,
  roundHistory,
  tx,
} from "./fixtures.ts";

const VALUES = quantizeReference(
  Array.from({ length: D }, (_, i) => Math.sin(i + 1)),
  CIRCUIT.updateBits,
);
const SALT = 31337n;
const COMMITMENT = referenceCommitment(VALUES, SALT, CIRCUIT);

function withReference(
  round: number,
  commitment: bigint,
  cid?: string,
  ended = true,
  dispute: "none" | "flagged" | "answered" = "none",
): RoundHistory {
  return roundHistory({
    round,
    referenceCommitted: { projectId: PROJECT_ID, round, commitment, deposit: 0n, ...at(10 + round) },
    ...(dispute === "none" ? {} : { referenceFlagged: { projectId: PROJECT_ID, round, answerDeadline: 99, ...at(30 + round) } }),
    ...(dispute === "answered"
      ? { referenceAnswered: { projectId: PROJECT_ID, round, firstChunk: 0, salt: SALT, packed: [], ...at(40 + round) } }
      : {}),
    ...(cid === undefined ? {} : { referencePublished: { projectId: PROJECT_ID, round, commitment, cid, ...at(20 + round) } }),
    ...(ended ? { end: finalized(round, tx(0xf0 + round), { totalScore: 1n, paid: 1n, cid: "m", commitment: 1n }) } : {}),
  });
}

async function check(rounds: RoundHistory[], store = new MemoryStore()): Promise<Finding[]> {
  const specCid = await pinSpec(store);
  const history: ProjectHistory = { ...projectHistory(), rounds };
  return checkReferences(auditContext({ history, store, project: projectInfo({ specCid }) }));
}

const blob = (over: Partial<Parameters<typeof encodeReference>[0]> = {}): Uint8Array =>
  encodeReference({ projectId: PROJECT_ID, round: 0, bits: CIRCUIT.updateBits, salt: SALT, values: VALUES, ...over });

describe("# checkReferences", () => {
  it("says so when no round has a reference", async () => {
    assert.deepEqual(await check([roundHistory({ round: 0 })]), [
      { check: "references", severity: "info", message: "no round has an owner's reference" },
    ]);
  });

  it("finds nothing when the published reference opens its commitment", async () => {
    const store = new MemoryStore();
    const cid = await store.put(blob());
    assert.deepEqual(await check([withReference(0, COMMITMENT, cid)], store), []);
  });

  it("fails a reference that opens another commitment, is for another round, or cannot be fetched", async () => {
    const store = new MemoryStore();
    const otherSalt = await store.put(blob({ salt: SALT + 1n }));
    const otherRound = await store.put(blob({ round: 1 }));
    const findings = await check(
      [withReference(0, COMMITMENT, otherSalt), withReference(3, COMMITMENT, otherRound), withReference(2, COMMITMENT, "gone")],
      store,
    );
    assert.deepEqual(
      findings.map((f) => [f.severity, f.round, f.message]),
      [
        [
          "failure",
          0,
          `round 0: the reference pinned at ${otherSalt}: reference blob: it opens commitment ${referenceCommitment(VALUES, SALT + 1n, CIRCUIT)}, not the committed ${COMMITMENT}`,
        ],
        [
          "failure",
          3,
          `round 3: the reference pinned at ${otherRound}: reference blob: it is for project 1 round 1, not project 1 round 3`,
        ],
        ["failure", 2, "round 2 reference: cannot fetch gone from IPFS: no block for gone"],
      ],
    );
  });

  it("fails a reference deposit settled against the rule: burned when withheld after a quorum, returned when published", async () => {
    const store = new MemoryStore();
    const cid = await store.put(blob());
    const cid3 = await store.put(blob({ round: 3 }));
    const settled = (round: number, returned: boolean) => ({ projectId: PROJECT_ID, round, deposit: 7n, returned, ...at(50 + round) });
    const findings = await check(
      [
        { ...withReference(0, COMMITMENT, cid), referenceDeposit: settled(0, true) },
        { ...withReference(1, COMMITMENT), referenceDeposit: settled(1, false) },
        { ...withReference(2, COMMITMENT), referenceDeposit: settled(2, true) },
        { ...withReference(3, COMMITMENT, cid3), referenceDeposit: settled(3, false) },
      ],
      store,
    );
    assert.deepEqual(
      findings.filter((f) => f.severity === "failure").map((f) => [f.round, f.message]),
      [
        [2, "round 2: the reference deposit of 7 was returned, but the rule burns it"],
        [3, "round 3: the reference deposit of 7 was burned, but the rule returns it"],
      ],
    );
  });

  it("warns about a reference committed and never published once its round ended, not while it is open", async () => {
    const findings = await check([withReference(0, COMMITMENT), withReference(1, COMMITMENT, undefined, false)]);
    assert.deepEqual(findings, [
      { check: "references", severity: "warning", round: 0, message: "round 0: the owner committed a reference and never published it" },
    ]);
  });

  it("after a flag: a blob that opens is a warning about the aggregator; one that does not is a warning once answered, a failure otherwise", async () => {
    const store = new MemoryStore();
    const good = [await store.put(blob()), await store.put(blob({ round: 1 }))];
    const bad = [await store.put(blob({ round: 2, salt: SALT + 1n })), await store.put(blob({ round: 3, salt: SALT + 1n }))];
    const findings = await check(
      [
        withReference(0, COMMITMENT, good[0], true, "flagged"),
        withReference(1, COMMITMENT, good[1], true, "answered"),
        withReference(2, COMMITMENT, bad[0], true, "answered"),
        withReference(3, COMMITMENT, bad[1], true, "flagged"),
      ],
      store,
    );
    assert.deepEqual(
      findings.map((f) => [f.severity, f.round, f.message.replace(/\d{20,}/g, "N")]),
      [
        [
          "warning",
          0,
          "round 0: the aggregator flagged a reference whose blob opens its commitment; unanswered, the round had no reference",
        ],
        ["warning", 1, "round 1: the aggregator flagged a reference whose blob opens its commitment (answered on chain)"],
        [
          "warning",
          2,
          `round 2: the reference pinned at ${bad[0]}: reference blob: it opens commitment N, not the committed N; the flagged reference was answered on chain`,
        ],
        ["failure", 3, `round 3: the reference pinned at ${bad[1]}: reference blob: it opens commitment N, not the committed N`],
      ],
    );
  });
});
