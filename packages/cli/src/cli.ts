import { Command } from "commander";

const program = new Command()
  .name("fedmarket")
  .description("fedmarket: a federated-learning marketplace that pays trainers for proven contributions.");

await program.parseAsync(process.argv);
