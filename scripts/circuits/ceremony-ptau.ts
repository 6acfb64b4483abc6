/**
 * Published blake2b-512 digests of the Hermez / Polygon zkEVM "powersOfTau28_hez_final_NN.ptau"
 * files (the perpetual powers of tau ceremony with 54 contributions and a final beacon), as
 * listed in the snarkjs README. A production setup must use a ceremony file: we check a user's
 * file against this table so that a corrupted or substituted file is caught before it is used.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { basename } from "node:path";

/** power -> blake2b-512 (hex) of `powersOfTau28_hez_final_<power>.ptau`. */
export const HEZ_PTAU_BLAKE2B: Readonly<Record<number, string>> = {
  12: "ded2694169b7b08e898f736d5de95af87c3f1a64594013351b1a796dbee393bd825f88f9468c84505ddd11eb0b1465ac9b43b9064aa8ec97f2b73e04758b8a4a",
  13: "58efc8bf2834d04768a3d7ffcd8e1e23d461561729beaac4e3e7a47829a1c9066d5320241e124a1a8e8aa6c75be0ba66f65bc8239a0542ed38e11276f6fdb4d9",
  14: "eeefbcf7c3803b523c94112023c7ff89558f9b8e0cf5d6cdcba3ade60f168af4a181c9c21774b94fbae6c90411995f7d854d02ebd93fb66043dbb06f17a831c1",
  15: "982372c867d229c236091f767e703253249a9b432c1710b4f326306bfa2428a17b06240359606cfe4d580b10a5a1f63fbed499527069c18ae17060472969ae6e",
  16: "6a6277a2f74e1073601b4f9fed6e1e55226917efb0f0db8a07d98ab01df1ccf43eb0e8c3159432acd4960e2f29fe84a4198501fa54c8dad9e43297453efec125",
  17: "6247a3433948b35fbfae414fa5a9355bfb45f56efa7ab4929e669264a0258976741dfbe3288bfb49828e5df02c2e633df38d2245e30162ae7e3bcca5b8b49345",
  18: "7e6a9c2e5f05179ddfc923f38f917c9e6831d16922a902b0b4758b8e79c2ab8a81bb5f29952e16ee6c5067ed044d7857b5de120a90704c1d3b637fd94b95b13e",
  19: "bca9d8b04242f175189872c42ceaa21e2951e0f0f272a0cc54fc37193ff6648600eaf1c555c70cdedfaf9fb74927de7aa1d33dc1e2a7f1a50619484989da0887",
  20: "89a66eb5590a1c94e3f1ee0e72acf49b1669e050bb5f93c73b066b564dca4e0c7556a52b323178269d64af325d8fdddb33da3a27c34409b821de82aa2bf1a27b",
};

/** blake2b-512 of a file, streamed (ceremony files are large). */
export async function fileBlake2b(file: string): Promise<string> {
  const h = createHash("blake2b512");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** What we know about a user-supplied ptau file. */
export type CeremonyCheck = { readonly kind: "known"; readonly power: number } | { readonly kind: "unknown" };

/**
 * Checks `file` against the published digests. A file named like a ceremony file must match its
 * digest exactly (otherwise this throws); any other file is "unknown" and the caller warns.
 */
export function checkCeremonyDigest(file: string, blake2b: string): CeremonyCheck {
  for (const [power, digest] of Object.entries(HEZ_PTAU_BLAKE2B)) {
    if (digest === blake2b) return { kind: "known", power: Number(power) };
  }
  const named = /^powersOfTau28_hez_final_(\d+)\.ptau$/.exec(basename(file));
  if (named !== null && HEZ_PTAU_BLAKE2B[Number(named[1])] !== undefined) {
    throw new Error(
      `${file} is named like the ceremony's 2^${named[1]} file but its blake2b-512 digest ${blake2b.slice(0, 16)}... ` +
        `does not match the published one: the file is corrupt or not the ceremony's. Download it again.`,
    );
  }
  return { kind: "unknown" };
}
