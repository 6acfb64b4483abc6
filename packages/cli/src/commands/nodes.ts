/**
 * `fedmarket trainer ...` and `fedmarket aggregator ...`: the node CLIs under one roof. Everything
 * after the group name goes unchanged to `fedmarket-trainer` / `fedmarket-aggregator` in a child
 * process (same stdio, same environment), and their exit code is ours.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";

/** `<package>/bin/<bin>`: the packages export only their entry point (`src/index.ts`). */
function binOf(pkg: string, bin: string): string {
  const entry = fileURLToPath(import.meta.resolve(pkg));
  return path.join(path.dirname(path.dirname(entry)), "bin", bin);
}

function passThrough(program: Command, name: string, pkg: string, bin: string, what: string): void {
  program
    .command(name)
    .description(`${what} (all arguments go to ${bin}; \`fedmarket ${name} --help\` lists its commands)`)
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .argument("[args...]")
    .action(
      (args: string[]) =>
        new Promise<void>((resolve) => {
          const child = spawn(process.execPath, [binOf(pkg, bin), ...args], { stdio: "inherit" });
          const forward = (signal: NodeJS.Signals): void => {
            child.kill(signal);
          };
          process.on("SIGINT", forward);
          process.on("SIGTERM", forward);
          child.once("error", (err) => {
            process.stderr.write(`error: cannot start ${bin}: ${err.message}\n`);
            process.exitCode = 2;
            resolve();
          });
          child.once("exit", (code, signal) => {
            process.off("SIGINT", forward);
            process.off("SIGTERM", forward);
            process.exitCode = code ?? (signal === null ? 1 : 128 + 9);
            resolve();
          });
        }),
    );
}

export function register(program: Command): void {
  passThrough(program, "trainer", "@fedmarket/trainer", "fedmarket-trainer.js", "the trainer node: join, run, status, claim");
  passThrough(
    program,
    "aggregator",
    "@fedmarket/aggregator",
    "fedmarket-aggregator.js",
    "the aggregator node: accept, run, status, prove-round",
  );
}
