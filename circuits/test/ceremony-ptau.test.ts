/** The production ptau check: ceremony-named files must match the published digests. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HEZ_PTAU_BLAKE2B, checkCeremonyDigest, fileBlake2b } from "../../scripts/circuits/ceremony-ptau.ts";

test("a file named like a ceremony file must match its published digest", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fedmarket-ptau-"));
  try {
    const fake = join(dir, "powersOfTau28_hez_final_13.ptau");
    writeFileSync(fake, "not a ceremony file");
    assert.throws(() => checkCeremonyDigest(fake, "00"), /does not match the published one/);
    const other = join(dir, "my-own.ptau");
    writeFileSync(other, "x");
    assert.deepEqual(checkCeremonyDigest(other, await fileBlake2b(other)), { kind: "unknown" });
    assert.deepEqual(checkCeremonyDigest(other, HEZ_PTAU_BLAKE2B[17]!), { kind: "known", power: 17 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("blake2b-512 of a file is streamed correctly", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fedmarket-ptau-"));
  try {
    const f = join(dir, "abc");
    writeFileSync(f, "abc");
    // Known blake2b-512("abc") from RFC 7693, appendix A.
    assert.equal(
      await fileBlake2b(f),
      "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
