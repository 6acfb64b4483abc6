/** `--account <address>`: the trainer refuses a key for any other account before the node opens. */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { checkExpectedAccount, configuredAddress } from "../src/account-check.ts";
import { ConfigError } from "../src/node/config.ts";

// Hardhat's public dev account 0 (never use it anywhere real).
const KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const OTHER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test("the key's address comes from FEDMARKET_PRIVATE_KEY, else the keystore's clear address field, without decrypting", async () => {
  assert.equal(await configuredAddress({}, { FEDMARKET_PRIVATE_KEY: KEY }), ADDRESS);
  const dir = await mkdtemp(path.join(os.tmpdir(), "fedmarket-account-"));
  dirs.push(dir);
  const keystore = path.join(dir, "key.json");
  await writeFile(keystore, JSON.stringify({ address: ADDRESS.slice(2).toLowerCase(), crypto: {} }));
  assert.equal(await configuredAddress({ keystore }, {}), ADDRESS);
  assert.equal(await configuredAddress({}, {}), undefined);
});

test("--account: the same account passes (any case); another is refused as a configuration error naming both", async () => {
  await checkExpectedAccount(undefined, {}, { FEDMARKET_PRIVATE_KEY: KEY });
  await checkExpectedAccount(ADDRESS.toLowerCase(), {}, { FEDMARKET_PRIVATE_KEY: KEY });
  await assert.rejects(
    checkExpectedAccount(OTHER, {}, { FEDMARKET_PRIVATE_KEY: KEY }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.message.startsWith(`the key (FEDMARKET_PRIVATE_KEY) is for ${ADDRESS}, not --account ${OTHER}`) &&
      !err.message.includes(KEY.slice(2)),
  );
  await assert.rejects(checkExpectedAccount("0x12", {}, { FEDMARKET_PRIVATE_KEY: KEY }), /--account "0x12" is not an address/);
});
