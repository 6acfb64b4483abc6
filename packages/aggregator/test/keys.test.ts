/**
 * The aggregator's seal key: the key file `accept` creates and `run` reads (64 hex characters, a
 * BabyJubJub scalar in [1, l), mode 0600), and the start-up refusal of a seal key that is not the
 * one the project registered at acceptance (trainers seal every update for the registered key and
 * the round proof is about it, so any other key cannot prove a round). A project without a
 * registered key yet (`[0, 0]`) is not checked; a key that cannot be read stops the node before it
 * connects, with exit code 2.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { publicKeyOf, randomScalar, SUBGROUP_ORDER } from "@fedmarket/core";
import { memoryLogger, type ProjectInfo } from "@fedmarket/protocol";
import { AggregatorError } from "../src/errors.ts";
import { openAggregator, type AggregatorConfig } from "../src/setup.ts";
import {
  checkAggregatorKey,
  loadOrCreateSealKeyFile,
  parseSealSecret,
  readSealKeyFile,
  sealKeyFileText,
  sealKeyText,
} from "../src/keys.ts";

const BIN = fileURLToPath(new URL("../bin/fedmarket-aggregator.js", import.meta.url));
let tmp: string;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "fedmarket-agg-keys-"));
});
after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Runs the aggregator CLI in `tmp` against an unreachable RPC. */
async function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: tmp,
    env: { ...process.env, ...env, FORCE_COLOR: "0", FEDMARKET_RPC_URL: "http://127.0.0.1:1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", resolve);
  });
  return { code, stdout, stderr };
}

const isConfigError = (pattern: RegExp) => (err: unknown) =>
  err instanceof AggregatorError && err.code === "config" && pattern.test(err.message);

describe("# the seal key file", () => {
  it("is created once with a fresh secret, mode 0600, 64 hex characters, and read back as the same scalar", async () => {
    const file = path.join(tmp, "aggregator.seal");
    const made = await loadOrCreateSealKeyFile(file);
    assert.equal(made.created, true);
    assert.ok(made.secret > 0n && made.secret < SUBGROUP_ORDER);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.match(await readFile(file, "utf8"), /^[0-9a-f]{64}\n$/);
    assert.equal(await readSealKeyFile(file), made.secret);
    assert.deepEqual(await loadOrCreateSealKeyFile(file), { secret: made.secret, created: false }, "never overwritten");
  });

  it("reads a small scalar zero-padded, with 0x, upper case and surrounding whitespace", () => {
    assert.equal(sealKeyFileText(5n), `${"0".repeat(63)}5\n`);
    assert.equal(parseSealSecret(sealKeyFileText(5n), "f"), 5n);
    const s = randomScalar();
    assert.equal(parseSealSecret(`  0x${s.toString(16).padStart(64, "0").toUpperCase()}\r\n`, "f"), s);
  });

  it("refuses text that is no seal key, naming its source", () => {
    for (const text of ["", "zz", "ab".repeat(31), "ab".repeat(33), `${"0".repeat(63)}g`]) {
      assert.throws(() => parseSealSecret(text, "k.seal"), isConfigError(/^k\.seal is not a seal key \(64 hex characters/), text);
    }
  });

  it("refuses 0 and scalars >= l (an X25519 key of an earlier version mostly is one)", async () => {
    for (const s of [0n, SUBGROUP_ORDER, (1n << 256n) - 1n]) {
      assert.throws(
        () => parseSealSecret(s.toString(16).padStart(64, "0"), "old.x25519"),
        isConfigError(/^old\.x25519 holds 64 hex characters, but not a scalar in \[1, l\).*accept` writes a new one/),
      );
    }
    const file = path.join(tmp, "zero.seal");
    await writeFile(file, `${"0".repeat(64)}\n`, { mode: 0o600 });
    await assert.rejects(loadOrCreateSealKeyFile(file), isConfigError(/zero\.seal holds 64 hex characters/), "not replaced");
    assert.equal(await readFile(file, "utf8"), `${"0".repeat(64)}\n`);
  });
});

describe("# checkAggregatorKey", () => {
  const project = (aggregatorSealKey: readonly [bigint, bigint]): Pick<ProjectInfo, "id" | "aggregatorSealKey"> => ({
    id: 7n,
    aggregatorSealKey,
  });

  it("passes the secret of the registered seal key", () => {
    const secret = randomScalar();
    checkAggregatorKey(project(publicKeyOf(secret)), secret, "--seal-key-file aggregator.seal");
  });

  it("refuses another secret as a configuration error (exit 2), naming the source, both keys and the key file expected", () => {
    const registered = publicKeyOf(randomScalar());
    const wrong = randomScalar();
    assert.throws(
      () => checkAggregatorKey(project(registered), wrong, "--seal-key-file /keys/old.seal"),
      (err: unknown) => {
        assert.ok(err instanceof AggregatorError);
        assert.equal(err.code, "config");
        assert.ok(
          err.message.startsWith(`the seal key in --seal-key-file /keys/old.seal (public key ${sealKeyText(publicKeyOf(wrong))})`),
          err.message,
        );
        assert.ok(err.message.includes(`project 7 registered when its aggregator accepted (${sealKeyText(registered)})`));
        assert.match(err.message, /The project expects the seal key file `fedmarket-aggregator accept` wrote when it accepted project 7/);
        assert.match(err.message, /--seal-key-file, or set FEDMARKET_SEAL_KEY/);
        return true;
      },
    );
    assert.throws(
      () => checkAggregatorKey(project(registered), wrong, "FEDMARKET_SEAL_KEY"),
      isConfigError(/^the seal key in FEDMARKET_SEAL_KEY/),
    );
  });

  it("does not check a project without a registered seal key", () => {
    checkAggregatorKey(project([0n, 0n]), randomScalar(), "--seal-key-file aggregator.seal");
  });

  it("prints a seal key as two 64-digit hex coordinates", () => {
    assert.equal(sealKeyText([1n, 255n]), `(0x${"0".repeat(63)}1, 0x${"0".repeat(62)}ff)`);
  });
});

describe("# openAggregator's seal key", () => {
  const config = (sealKeyFile?: string): AggregatorConfig => ({
    rpcUrl: "http://127.0.0.1:1",
    market: `0x${"22".repeat(20)}`,
    dataDir: path.join(tmp, "agg-data"),
    ...(sealKeyFile === undefined ? {} : { sealKeyFile }),
  });
  const env = { FEDMARKET_PRIVATE_KEY: `0x${"11".repeat(32)}` };

  it("refuses, before connecting, a file that is no seal key, a missing file, and no key at all", async () => {
    const old = path.join(tmp, "old.x25519");
    await writeFile(old, `${"ff".repeat(32)}\n`, { mode: 0o600 });
    await assert.rejects(
      openAggregator(config(old), memoryLogger(), { env }),
      isConfigError(/old\.x25519 holds 64 hex characters, but not a scalar/),
    );
    await assert.rejects(
      openAggregator(config("nowhere.seal"), memoryLogger(), { env }),
      isConfigError(/^--seal-key-file nowhere\.seal: no such file; pass the seal key file `fedmarket-aggregator accept` wrote/),
    );
    await assert.rejects(
      openAggregator(config(), memoryLogger(), { env: { ...env, FEDMARKET_X25519_KEY: "ab".repeat(32) } }),
      isConfigError(/^no seal key to decrypt updates with: .*\(FEDMARKET_X25519_KEY is no longer read/),
    );
    await assert.rejects(
      openAggregator(config(), memoryLogger(), { env: { ...env, FEDMARKET_SEAL_KEY: "12" } }),
      isConfigError(/^FEDMARKET_SEAL_KEY is not a seal key/),
    );
  });

  it("ends the CLI with exit code 2 (it could not run)", async () => {
    const { code, stderr } = await cli(
      ["run", "--market", `0x${"22".repeat(20)}`, "--project", "1", "--data", "agg-data", "--seal-key-file", "old.x25519"],
      env,
    );
    assert.equal(code, 2, stderr);
    assert.match(stderr, /^error: old\.x25519 holds 64 hex characters, but not a scalar in \[1, l\)/m);
  });
});

describe("# accept's seal key file flag", () => {
  // no Ethereum key: accept stops (exit 2) once the flags are read, before it connects or writes a file
  const env = { FEDMARKET_PRIVATE_KEY: "" };
  const accept = ["accept", "--market", `0x${"22".repeat(20)}`, "--project", "1", "--skip-setup"];

  it("is --seal-key-file, as in run: the old --key-file is not in the help", async () => {
    const { code, stdout, stderr } = await cli(["accept", "--help"]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /--seal-key-file <file>/);
    assert.match(stdout, /default: "aggregator\.seal"/);
    assert.doesNotMatch(stdout, /(^|[^-])--key-file/);
  });

  it("still takes --key-file, with a one-line deprecation warning on stderr", async () => {
    const { code, stderr } = await cli([...accept, "--key-file", "old-flag.seal"], env);
    assert.equal(code, 2, stderr);
    const warnings = stderr.split("\n").filter((l) => l.startsWith("warning:"));
    assert.deepEqual(warnings, ["warning: --key-file is deprecated and will be removed: use --seal-key-file (the same file)"]);
    assert.match(stderr, /^error: no Ethereum key/m);
    const plain = await cli([...accept, "--seal-key-file", "new-flag.seal"], env);
    assert.equal(plain.code, 2, plain.stderr);
    assert.doesNotMatch(plain.stderr, /warning:/);
  });

  it("refuses both names at once (a usage error, exit 2)", async () => {
    const { code, stderr } = await cli([...accept, "--key-file", "a.seal", "--seal-key-file", "b.seal"], env);
    assert.equal(code, 2, stderr);
    assert.match(stderr, /^error: --key-file is the deprecated name of --seal-key-file: pass only --seal-key-file\nusage: /);
  });
});
