/**
 * `fedmarket`: one command line for the marketplace. Each command group lives in
 * src/commands/<group>.ts and exports `register(program)`; this file only wires them up and applies
 * the conventions all three fedmarket CLIs share (protocol's node/cli.ts): `--version`, a short
 * usage after an argument error, and the exit codes 0 done, 1 the operation failed (a transaction
 * reverted, an audit found failures), 2 it could not run (bad arguments, missing files, unreachable RPC).
 */
import { Command } from "commander";
import { applyCliConventions, EXIT_CODES_HELP, packageVersion } from "@fedmarket/protocol";
import { register as registerDeploy } from "./commands/deploy.ts";
import { register as registerProject } from "./commands/project.ts";
import { register as registerAccount } from "./commands/account.ts";
import { register as registerAudit } from "./commands/audit.ts";
import { register as registerWatch } from "./commands/watch.ts";
import { register as registerNodes } from "./commands/nodes.ts";

const program = new Command()
  .name("fedmarket")
  .description("fedmarket: a federated-learning marketplace that pays trainers for proven contributions.")
  .addHelpText("after", `\n${EXIT_CODES_HELP}`)
  // `fedmarket trainer --version` is the trainer's: options after a command name are that command's
  .enablePositionalOptions();

registerDeploy(program);
registerProject(program);
registerAccount(program);
registerAudit(program);
registerWatch(program);
registerNodes(program);
(await import("./commands/ipfs.ts")).register(program);

applyCliConventions(program, { version: packageVersion(new URL("../package.json", import.meta.url)) });
await program.parseAsync(process.argv);
