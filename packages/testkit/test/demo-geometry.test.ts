/**
 * `projectGeometry` (src/bench/demo/geometry.ts) on a project folder written as the aggregator node
 * writes it: the cosines, the proven decision and the decision on the parts orthogonal to the last
 * global delta, which makes an exact replay of that delta a zero update.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { projectGeometry, type DemoTrainer } from "../src/bench/demo/geometry.ts";

const TRAINERS: DemoTrainer[] = ["honest", "honest", "honest", "free-rider"].map((role, k) => ({
  trainer: `trainer-${k}`,
  address: `0x${String(k + 1).padStart(40, "0")}`,
  role,
}));

/** Writes round `round`'s `input.json` and `openings.json` (only the fields the geometry reads are meaningful). */
async function writeRound(dir: string, round: number, prevModel: number[], updates: (number[] | null)[]): Promise<void> {
  const at = path.join(dir, `r${round}`);
  await mkdir(at, { recursive: true });
  const input = {
    config: { kMax: 4, chunk: 16, updateBits: 8, modelBits: 24 },
    f: 0,
    keccak: "0",
    prevModel: prevModel.map(String),
    modelCid: "cid",
  };
  const openings = updates.map((u, slot) => ({
    slot,
    trainer: TRAINERS[slot]?.address ?? "0x0",
    commitment: String(slot + 1),
    cid: `cid-${slot}`,
    txHash: "0x",
    blockNumber: 1,
    ...(u === null
      ? { status: "unavailable", reason: "not-found", detail: "test" }
      : { status: "opened", update: u.map(String), sealed: { ephemeral: ["0", "0"], chunks: [] } }),
  }));
  await writeFile(path.join(at, "input.json"), JSON.stringify(input));
  await writeFile(path.join(at, "openings.json"), JSON.stringify({ openings }));
}

test("projectGeometry: cosines, the proven decision, and the orthogonal decision that zeroes an exact replay", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "geometry-"));
  try {
    const honest = [
      [5, 1, 2, 0],
      [1, 5, 0, 2],
      [2, 0, 5, 1],
    ];
    // Round 0: three agreeing honest updates and the free rider's zeros.
    await writeRound(dir, 0, [0, 0, 0, 0], [...honest, [0, 0, 0, 0]]);
    // Round 1: the model moved by delta; the free rider replays it exactly.
    const delta = [3, 2, 2, 1];
    await writeRound(dir, 1, delta, [...honest, delta]);
    const rounds = await projectGeometry(dir, TRAINERS);
    assert.equal(rounds.length, 2);
    const [r0, r1] = rounds as [(typeof rounds)[0], (typeof rounds)[0]];
    assert.equal(r0.deltaNorm, 0);
    assert.deepEqual(
      r0.slots.map((s) => [s.role, s.status]),
      [
        ["honest", "inlier"],
        ["honest", "inlier"],
        ["honest", "inlier"],
        ["free-rider", "not-aggregated"],
      ],
    );
    assert.ok(r0.slots.slice(0, 3).every((s) => s.cosHonest > 0 && s.cosDelta === 0));
    assert.equal(r1.deltaNorm, Math.sqrt(18));
    const replay = r1.slots[3];
    assert.ok(replay !== undefined);
    assert.ok(Math.abs(replay.cosDelta - 1) < 1e-12);
    // The proven rule counts and pays the replay; on the orthogonal parts it is the zero vector.
    assert.equal(replay.status, "inlier");
    assert.notEqual(replay.score, "0");
    assert.equal(replay.orthogonalStatus, "not-aggregated");
    assert.equal(replay.orthogonalScore, "0");
    // No round 2: the walk stops at the first missing folder.
    assert.deepEqual(await projectGeometry(path.join(dir, "missing"), TRAINERS), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
