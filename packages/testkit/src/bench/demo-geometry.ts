#!/usr/bin/env node
/**
 * The geometry of the demo's rounds: why the proven consensus rule leaves an honest trainer out and
 * pays the free rider most (docs/SCORING.md, "Fifth round: the demo's rounds sit at a stationary point").
 *
 *   npm run demo -- --work-dir /tmp/demo --json --out /tmp/demo.json
 *   npm run bench:demo-geometry -- --work-dir /tmp/demo --demo-json /tmp/demo.json [--project 1] [--json out.json]
 *
 * Prints, per round and slot, what `projectGeometry` (demo/geometry.ts) computes from the aggregator
 * node's files under `<work-dir>/aggregator/p<project>/`, with the trainers' roles from the demo's JSON.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { benchArgs } from "./args.ts";
import { projectGeometry, type DemoTrainer } from "./demo/geometry.ts";

const USAGE =
  "usage: npm run bench:demo-geometry -- --work-dir <demo --work-dir> --demo-json <demo --json file> [--project 1] [--json <out>]";

const { values } = benchArgs(import.meta.url, {
  "work-dir": { type: "string" },
  "demo-json": { type: "string" },
  project: { type: "string", default: "1" },
  json: { type: "string" },
});
const workDir = values["work-dir"];
const demoJson = values["demo-json"];
if (workDir === undefined || demoJson === undefined) {
  console.error(`${USAGE}\n(both --work-dir and --demo-json are required: run the demo with --work-dir and --json first)`);
  process.exit(2);
}

const trainers = (JSON.parse(await readFile(demoJson, "utf8")) as { trainerList: DemoTrainer[] }).trainerList;
const projectDir = path.join(workDir, "aggregator", `p${values.project}`);
const rounds = await projectGeometry(projectDir, trainers);
if (rounds.length === 0) {
  console.error(`no round found under ${projectDir}: run the demo with --work-dir ${workDir} first`);
  process.exit(2);
}

const fmt = (x: number): string => (x >= 0 ? " " : "") + x.toFixed(2);
for (const r of rounds) {
  console.log(`round ${r.round}: |last global delta| = ${r.deltaNorm.toFixed(0)}`);
  console.log("  slot trainer    role        norm  cosHonest cosDelta  status (score)                 orthogonal: status (score)");
  for (const s of r.slots) {
    console.log(
      `  ${String(s.slot).padStart(4)} ${s.trainer.padEnd(10)} ${s.role.padEnd(10)} ${s.norm.toFixed(0).padStart(5)}  ${fmt(s.cosHonest).padStart(8)} ${fmt(s.cosDelta).padStart(8)}  ${`${s.status} (${s.score})`.padEnd(30)} ${s.orthogonalStatus} (${s.orthogonalScore})`,
    );
  }
}
if (values.json !== undefined) {
  const command = `npm run bench:demo-geometry -- ${process.argv.slice(2).join(" ")}`;
  await writeFile(values.json, `${JSON.stringify({ command, rounds }, null, 2)}\n`);
  console.log(`wrote ${values.json}`);
}
