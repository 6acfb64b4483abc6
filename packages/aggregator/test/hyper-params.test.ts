/**
 * The next round's hyper-parameters sent with `finalizeRound` (steps/hyper-params.ts): the open
 * round's learning rate times `--lr-decay`, clamped to the project's bounds, recorded so a restart
 * sends the same; on the project's last round the open round's values (the contract still checks the
 * bounds) and no announcement of a round that never opens.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { memoryLogger, type HyperParams } from "@fedmarket/protocol";
import { nextRoundHyperParams, type HyperParamsFile } from "../src/steps/hyper-params.ts";
import { RoundFiles } from "../src/store.ts";

let tmp: string;
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "fedmarket-agg-hyper-"));
});
after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const CURRENT: HyperParams = { learningRateMicros: 500_000, localEpochs: 2, batchSize: 16 };
const project = (numRounds: number) => ({
  numRounds,
  hyperParams: CURRENT,
  minHyperParams: { learningRateMicros: 100_000, localEpochs: 1, batchSize: 8 },
  maxHyperParams: { learningRateMicros: 1_000_000, localEpochs: 4, batchSize: 64 },
});

describe("# nextRoundHyperParams", () => {
  it("announces the next round's decayed values and records them", async () => {
    const files = new RoundFiles(tmp, 1n, 0);
    const log = memoryLogger();
    const next = await nextRoundHyperParams(project(3), 0, 0.5, files, log);
    assert.deepEqual(next, { ...CURRENT, learningRateMicros: 250_000 });
    assert.deepEqual((await files.read<HyperParamsFile>("hyperparams.json"))?.next, next);
    assert.equal(log.records.length, 1);
    assert.match(log.records[0]?.msg ?? "", /^round 1 will train with lr 0\.25 /);
  });

  it("on the last round sends the open round's values and says no round follows", async () => {
    const files = new RoundFiles(tmp, 2n, 2);
    const log = memoryLogger();
    const next = await nextRoundHyperParams(project(3), 2, 0.5, files, log);
    assert.deepEqual(next, CURRENT, "in bounds, undecayed: finalizeRound checks them, no round uses them");
    assert.deepEqual((await files.read<HyperParamsFile>("hyperparams.json"))?.next, CURRENT);
    assert.deepEqual(
      log.records.map((r) => [r.level, r.event, r.msg]),
      [["info", "round.hyperparams", "round 2 is the last round: no next-round hyper-parameters"]],
    );
    assert.ok(!log.records.some((r) => /will train/.test(r.msg)));
  });

  it("a one-round project's round 0 is its last", async () => {
    const log = memoryLogger();
    assert.deepEqual(await nextRoundHyperParams(project(1), 0, 0.9, new RoundFiles(tmp, 3n, 0), log), CURRENT);
    assert.equal(log.records[0]?.msg, "round 0 is the last round: no next-round hyper-parameters");
  });
});
