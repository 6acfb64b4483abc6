/**
 * `fedmarket`: one command line for the marketplace. Each command group lives in
 * src/commands/<group>.ts and exports `register(program)`; this file only wires them up.
 *
 * Exit codes: 0 success (audit: pass), 1 the operation failed (audit: a mismatch was found),
 * 2 it could not run (bad arguments, unreachable RPC).
 */
import { Command } from "commander";
import { register as registerDeploy } from "./commands/deploy.ts";
import { register as registerProject } from "./commands/project.ts";
import { register as registerAudit } from "./commands/audit.ts";
import { register as registerNodes } from "./commands/nodes.ts";

const program = new Command()
  .name("fedmarket")
  .description("fedmarket: a federated-learning marketplace that pays trainers for proven contributions.")
  .showHelpAfterError()
  .configureOutput({ outputError: (s, write) => write(s) });

registerDeploy(program);
registerProject(program);
registerAudit(program);
registerNodes(program);
(await import("./commands/ipfs.ts")).register(program);

program.exitOverride((err) => {
  process.exit(err.exitCode === 0 ? 0 : 2);
});
await program.parseAsync(process.argv);
