/**
 * Command-line options of the benchmark scripts: node's strict `parseArgs` with `--help` (`-h`),
 * which prints the script's header comment (each script documents its usage there, so the help
 * cannot drift from it), and a misspelt option that says where the options are listed instead of
 * a stack trace.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

const HELP = { help: { type: "boolean", short: "h" } } as const;

/** Options in, parsed values and positionals out; exits after printing the usage on `--help`. */
export function benchArgs<const O extends ParseArgsOptionsConfig>(scriptUrl: string, options: O, allowPositionals = false) {
  const parsed = orUsageError(() => parseArgs({ options: { ...options, ...HELP }, allowPositionals, strict: true }));
  if ((parsed.values as { help?: boolean }).help === true) {
    process.stdout.write(`${usageOf(scriptUrl)}\n`);
    process.exit(0);
  }
  return parsed;
}

/** `parse()`, or exit 2 with node's message and a pointer to `--help` when the command line is wrong. */
function orUsageError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
      process.stderr.write(`${(error as Error).message}\nRun it with --help for its options.\n`);
      process.exit(2);
    }
    throw error;
  }
}

/** The script's first block comment, without its comment markers. */
function usageOf(scriptUrl: string): string {
  const source = readFileSync(fileURLToPath(scriptUrl), "utf8");
  const match = /\/\*\*([\s\S]*?)\*\//.exec(source);
  if (match === null) return `usage: node ${fileURLToPath(scriptUrl)} [options]`;
  return (match[1] as string)
    .split("\n")
    .map((line) => line.replace(/^\s*\* ?/, ""))
    .join("\n")
    .trim();
}
