/**
 * The aggregator refuses to start with an X25519 key that is not the one its project registered at
 * acceptance (trainers encrypt every update to the registered key, so any other key opens none of
 * them); a project that has no registered key yet (all zeros) is not checked.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair, type ProjectInfo } from "@fedmarket/protocol";
import { checkAggregatorKey, x25519PublicHex } from "../src/setup.ts";
import { AggregatorError } from "../src/errors.ts";

const ZERO_KEY = `0x${"00".repeat(32)}`;

function project(aggregatorEncryptionKey: string): Pick<ProjectInfo, "id" | "aggregatorEncryptionKey"> {
  return { id: 7n, aggregatorEncryptionKey };
}

test("the key whose public half the project registered passes (hex case does not matter)", () => {
  const { secretKey } = generateKeyPair();
  const registered = x25519PublicHex(secretKey);
  checkAggregatorKey(project(registered), secretKey, "--x25519-key-file aggregator.x25519");
  checkAggregatorKey(project(registered.toUpperCase().replace(/^0X/, "0x")), secretKey, "--x25519-key-file aggregator.x25519");
});

test("another key is refused as a configuration error (exit 2) naming the key file, both keys and what to do", () => {
  const registered = x25519PublicHex(generateKeyPair().secretKey);
  const wrong = generateKeyPair().secretKey;
  assert.throws(
    () => checkAggregatorKey(project(registered), wrong, "--x25519-key-file /keys/old.x25519"),
    (err: unknown) => {
      assert.ok(err instanceof AggregatorError);
      assert.equal(err.code, "config");
      assert.match(err.message, /^the X25519 key in --x25519-key-file \/keys\/old\.x25519 \(public key 0x[0-9a-f]{64}\)/);
      assert.ok(err.message.includes(x25519PublicHex(wrong)), "names the key it derived");
      assert.ok(err.message.includes(registered.toLowerCase()), "names the registered key");
      assert.match(err.message, /project 7 registered when its aggregator accepted/);
      assert.match(err.message, /Pass the key file `fedmarket-aggregator accept` wrote/);
      return true;
    },
  );
  assert.throws(() => checkAggregatorKey(project(registered), wrong, "FEDMARKET_X25519_KEY"), /the X25519 key in FEDMARKET_X25519_KEY/);
});

test("a project without a registered key (not accepted yet) is not checked", () => {
  checkAggregatorKey(project(ZERO_KEY), generateKeyPair().secretKey, "--x25519-key-file aggregator.x25519");
});
