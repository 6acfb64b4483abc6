/**
 * What every benchmark JSON starts with, so a number can be traced to the command, the day and the
 * machine that produced it.
 */
import os from "node:os";

/** `command`, `date` and `machine` of a benchmark run of `script` (a path from the repository root). */
export function benchRunInfo(script: string): {
  command: string;
  date: string;
  machine: { cores: number; cpu: string; node: string; platform: string };
} {
  return {
    command: `node ${script} ${process.argv.slice(2).join(" ")}`.trim(),
    date: new Date().toISOString(),
    machine: {
      cores: os.availableParallelism(),
      cpu: os.cpus()[0]?.model ?? "?",
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
    },
  };
}
