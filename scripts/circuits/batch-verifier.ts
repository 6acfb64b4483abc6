/**
 * Batch verifiers of chunk proofs: one Solidity contract per chunk circuit, rendered from the
 * circuit's verification key (contracts/verifiers/generated/ChunkVerifier_<cfg>.vkey.json) into
 * contracts/verifiers/generated/BatchChunkVerifier_<cfg>.sol.
 *
 *   node scripts/circuits/batch-verifier.ts                  # every ChunkVerifier_*.vkey.json
 *   node scripts/circuits/batch-verifier.ts chunk_k4_c16     # selected targets
 *   node scripts/circuits/batch-verifier.ts --check          # fail if a generated file is out of date
 *
 * `verifyChunkBatch(proofs, accs)` checks n chunk proofs (public inputs `[accs[i], accs[i+1]]`)
 * with one multi-pairing of n + 3 pairs, a random linear combination of the n Groth16 equations
 * with 128-bit coefficients derived by Fiat-Shamir from everything the caller supplies. The
 * soundness argument is in docs/PROOF-INTERFACE.md, "Batch verification of chunk proofs".
 * Re-run this script whenever `scripts/circuits/build.ts` rewrites a chunk verification key.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { AbiCoder, keccak256, toUtf8Bytes } from "ethers";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const GENERATED_DIR = join(ROOT, "contracts", "verifiers", "generated");

/** BN254 scalar field (public inputs, coefficients). */
export const SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** BN254 base field (proof coordinates). */
export const BASE_FIELD = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
/** Domain-separation string of the Fiat-Shamir transcript; its keccak256 is the contract's `DOMAIN`. */
export const DOMAIN_STRING = "fedmarket.groth16.batch-chunk-verifier.v1";
/** keccak256(DOMAIN_STRING). */
export const DOMAIN_TAG = keccak256(toUtf8Bytes(DOMAIN_STRING));

/** The parts of a snarkjs Groth16 verification key used here (decimal strings, projective z last). */
export interface ChunkVkey {
  readonly protocol: string;
  readonly curve: string;
  readonly nPublic: number;
  readonly vk_alpha_1: readonly string[];
  readonly vk_beta_2: readonly (readonly string[])[];
  readonly vk_gamma_2: readonly (readonly string[])[];
  readonly vk_delta_2: readonly (readonly string[])[];
  readonly IC: readonly (readonly string[])[];
}

type G1 = readonly [bigint, bigint];
/** A G2 point in EIP-197 order: `[x.im, x.re, y.im, y.re]`. */
type G2 = readonly [bigint, bigint, bigint, bigint];

function g1(p: readonly string[] | undefined, what: string): G1 {
  if (p === undefined || p.length < 2 || (p[2] !== undefined && p[2] !== "1")) throw new Error(`vkey: ${what} is not an affine G1 point`);
  return [BigInt(p[0]!), BigInt(p[1]!)];
}

function g2(p: readonly (readonly string[])[], what: string): G2 {
  const [x, y, z] = p;
  if (x === undefined || y === undefined || (z !== undefined && (z[0] !== "1" || z[1] !== "0"))) {
    throw new Error(`vkey: ${what} is not an affine G2 point`);
  }
  return [BigInt(x[1]!), BigInt(x[0]!), BigInt(y[1]!), BigInt(y[0]!)];
}

/** -P for a G2 point: (x, -y), each Fq coordinate of y negated mod q. */
export function negG2(p: G2): G2 {
  const neg = (v: bigint): bigint => (BASE_FIELD - v) % BASE_FIELD;
  return [p[0], p[1], neg(p[2]), neg(p[3])];
}

/** The verification key as words, checked: two public inputs, every coordinate < q. */
export function parseChunkVkey(vkey: ChunkVkey): { alpha: G1; beta: G2; gamma: G2; delta: G2; ic: readonly [G1, G1, G1] } {
  if (vkey.protocol !== "groth16" || vkey.curve !== "bn128") throw new Error(`vkey: ${vkey.protocol}/${vkey.curve}, want groth16/bn128`);
  if (vkey.nPublic !== 2 || vkey.IC.length !== 3) throw new Error(`vkey: ${vkey.nPublic} public inputs, a chunk circuit has 2`);
  const parsed = {
    alpha: g1(vkey.vk_alpha_1, "alpha"),
    beta: g2(vkey.vk_beta_2, "beta"),
    gamma: g2(vkey.vk_gamma_2, "gamma"),
    delta: g2(vkey.vk_delta_2, "delta"),
    ic: [g1(vkey.IC[0], "IC0"), g1(vkey.IC[1], "IC1"), g1(vkey.IC[2], "IC2")] as const,
  };
  for (const w of vkWords(parsed)) if (w >= BASE_FIELD) throw new Error("vkey: coordinate >= q");
  return parsed;
}

/** The 20 vk words in EIP-197 order: alpha, beta, gamma, delta, IC0, IC1, IC2. */
function vkWords(vk: { alpha: G1; beta: G2; gamma: G2; delta: G2; ic: readonly [G1, G1, G1] }): bigint[] {
  return [...vk.alpha, ...vk.beta, ...vk.gamma, ...vk.delta, ...vk.ic[0], ...vk.ic[1], ...vk.ic[2]];
}

/** The contract's `VK_HASH`: keccak256 of the 20 vk words (abi.encode, EIP-197 order, not negated). */
export function vkHash(vkey: ChunkVkey): string {
  const words = vkWords(parseChunkVkey(vkey));
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      words.map(() => "uint256"),
      words,
    ),
  );
}

/**
 * Mirror of the contract's Fiat-Shamir coefficients (for tests and off-chain checks):
 * `seed = keccak256(DOMAIN ‖ VK_HASH ‖ n ‖ proofs ‖ accs)` (32-byte words), `r_0 = 1`,
 * `r_i = keccak256(seed ‖ i) >> 128` for i >= 1, 0 mapped to 1.
 */
export function fiatShamirCoefficients(vkHashHex: string, proofs: readonly (readonly bigint[])[], accs: readonly bigint[]): bigint[] {
  const coder = AbiCoder.defaultAbiCoder();
  const words = [BigInt(DOMAIN_TAG), BigInt(vkHashHex), BigInt(proofs.length), ...proofs.flat(), ...accs];
  const seed = keccak256(
    coder.encode(
      words.map(() => "uint256"),
      words,
    ),
  );
  return proofs.map((_, i) => {
    if (i === 0) return 1n;
    const r = BigInt(keccak256(coder.encode(["bytes32", "uint256"], [seed, i]))) >> 128n;
    return r === 0n ? 1n : r;
  });
}

/** Contract name of a chunk target: chunk_k4_c16 -> BatchChunkVerifier_k4_c16. */
export function batchVerifierContractName(targetName: string): string {
  if (!targetName.startsWith("chunk_")) throw new Error(`${targetName} is not a chunk circuit`);
  return `BatchChunkVerifier_${targetName.slice("chunk_".length)}`;
}

/** The chunk targets that have a generated verification key. */
export function chunkTargetsWithVkey(): string[] {
  return readdirSync(GENERATED_DIR)
    .map((f) => /^ChunkVerifier_(.+)\.vkey\.json$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort()
    .map((s) => `chunk_${s}`);
}

/** Paths of a target's inputs (vkey, single verifier) and output. */
export function batchVerifierPaths(targetName: string): { vkey: string; single: string; out: string; contractName: string } {
  const suffix = targetName.slice("chunk_".length);
  const contractName = batchVerifierContractName(targetName);
  return {
    vkey: join(GENERATED_DIR, `ChunkVerifier_${suffix}.vkey.json`),
    single: join(GENERATED_DIR, `ChunkVerifier_${suffix}.sol`),
    out: join(GENERATED_DIR, `${contractName}.sol`),
    contractName,
  };
}

const hex32 = (h: string): string => `0x${h.replace(/^0x/, "").padStart(64, "0")}`;

/**
 * Renders the batch verifier of one chunk circuit. `describe` are extra header lines (the
 * circuit/setup description copied from the single verifier, including its dev-setup warning).
 */
export function renderBatchVerifier(opts: {
  readonly contractName: string;
  readonly vkey: ChunkVkey;
  readonly vkeyPath: string;
  readonly describe: readonly string[];
}): string {
  const vk = parseChunkVkey(opts.vkey);
  const nb = negG2(vk.beta);
  const ng = negG2(vk.gamma);
  const nd = negG2(vk.delta);
  const c = (name: string, v: bigint): string => `    uint256 internal constant ${name} = ${v};`;
  const g2c = (name: string, p: G2): string[] => [
    c(`${name}_X_IM`, p[0]),
    c(`${name}_X_RE`, p[1]),
    c(`${name}_Y_IM`, p[2]),
    c(`${name}_Y_RE`, p[3]),
  ];
  return `// Generated by scripts/circuits/batch-verifier.ts from ${relative(ROOT, opts.vkeyPath)}; do not edit.
${opts.describe.map((l) => `// ${l}`).join("\n")}
// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ${opts.contractName}
/// @notice Verifies a batch of chunk proofs of one circuit (public inputs \`[accIn, accOut]\`) with one
///         multi-pairing. Soundness argument: docs/PROOF-INTERFACE.md, "Batch verification of chunk proofs".
/// @dev Accepts exactly when every proof \`i\` verifies against \`[accs[i], accs[i + 1]]\` under this
///      verification key, except with probability about 2^-127 per batch the submitter tries: the n Groth16
///      equations are combined with 128-bit coefficients \`r_0 = 1\`, \`r_i = keccak256(seed, i) >> 128\`
///      (0 mapped to 1), \`seed = keccak256(DOMAIN, VK_HASH, n, proofs, accs)\`, and checked as
///      \`prod_i e(r_i A_i, B_i) * e(R alpha, -beta) * e(sum_i r_i vk_x_i, -gamma) * e(sum_i r_i C_i, -delta) == 1\`
///      with \`R = sum_i r_i\` and \`sum_i r_i vk_x_i = R IC0 + (sum_i r_i accs[i]) IC1 + (sum_i r_i accs[i+1]) IC2\`.
///      Stricter than the snarkjs verifier: every proof word must be < q (snarkjs accepts some
///      non-canonical encodings of A.y) and every public input < r.
contract ${opts.contractName} {
    /// @notice Domain tag of the Fiat-Shamir transcript: keccak256("${DOMAIN_STRING}").
    bytes32 public constant DOMAIN = ${hex32(DOMAIN_TAG)};
    /// @notice keccak256(abi.encode(the 20 verification-key words in EIP-197 order: alpha, beta, gamma, delta, IC0..IC2)).
    bytes32 public constant VK_HASH = ${hex32(vkHash(opts.vkey))};

    // Scalar field r (public inputs, coefficients) and base field q (coordinates).
    uint256 internal constant R = ${SCALAR_FIELD};
    uint256 internal constant Q = ${BASE_FIELD};

    // Verification key. G2 points in EIP-197 order; beta, gamma and delta negated (so the check is "product == 1").
${[c("ALPHA_X", vk.alpha[0]), c("ALPHA_Y", vk.alpha[1]), ...g2c("NEG_BETA", nb), ...g2c("NEG_GAMMA", ng), ...g2c("NEG_DELTA", nd)].join("\n")}
${[c("IC0_X", vk.ic[0][0]), c("IC0_Y", vk.ic[0][1]), c("IC1_X", vk.ic[1][0]), c("IC1_Y", vk.ic[1][1]), c("IC2_X", vk.ic[2][0]), c("IC2_Y", vk.ic[2][1])].join("\n")}

    // Precompile prices (EIP-1108): a precompile is called only when at least this much gas can be forwarded.
    uint256 internal constant ECADD_GAS = 150;
    uint256 internal constant ECMUL_GAS = 6000;
    uint256 internal constant PAIRING_BASE_GAS = 45000;
    uint256 internal constant PAIRING_PER_PAIR_GAS = 34000;

    /// @notice Verifies \`proofs.length\` chunk proofs at once.
    /// @param proofs The proofs, eight words each in snarkjs calldata order
    ///        \`[a.x, a.y, b.x[1], b.x[0], b.y[1], b.y[0], c.x, c.y]\` (as {IRoundVerifier-verifyChunk}).
    /// @param accs \`proofs.length + 1\` accumulators: proof \`i\` proves \`accs[i] -> accs[i + 1]\`.
    /// @return valid True when every proof verifies (up to the soundness error above); false for an
    ///         empty batch, a wrong \`accs\` length, a public input >= r or a proof word >= q.
    ///         Reverts (never returns false) when given too little gas to finish the precompile calls.
    function verifyChunkBatch(uint256[8][] calldata proofs, uint256[] calldata accs) external view returns (bool valid) {
        uint256 n = proofs.length;
        if (n == 0 || accs.length != n + 1) return false;
        assembly ("memory-safe") {
            // Calls precompile \`addr\`, priced \`g\`; false on invalid input. Reverts when fewer than \`g\` gas
            // could be forwarded (63/64 rule), so that "false" means "invalid", not "out of gas". Forwards all
            // the gas, as snarkjs does, so that a chain pricing precompiles higher still gets verdicts.
            function precompile(addr, g, inPtr, inLen, outPtr, outLen) -> ok {
                if lt(gas(), add(add(g, div(g, 63)), 500)) {
                    revert(0, 0)
                }
                ok := staticcall(gas(), addr, inPtr, inLen, outPtr, outLen)
            }

            let proofsPtr := proofs.offset
            let accsPtr := accs.offset
            let proofBytes := shl(8, n) // 256 bytes per proof
            let accBytes := shl(5, add(n, 1))

            // Every proof word < q, every public input < r.
            let ok := 1
            for {
                let p := proofsPtr
                let end := add(proofsPtr, proofBytes)
            } lt(p, end) {
                p := add(p, 32)
            } {
                ok := and(ok, lt(calldataload(p), Q))
            }
            for {
                let p := accsPtr
                let end := add(accsPtr, accBytes)
            } lt(p, end) {
                p := add(p, 32)
            } {
                ok := and(ok, lt(calldataload(p), R))
            }

            // Fiat-Shamir seed over everything the caller supplies: DOMAIN ‖ VK_HASH ‖ n ‖ proofs ‖ accs.
            let m := mload(0x40)
            mstore(m, DOMAIN)
            mstore(add(m, 0x20), VK_HASH)
            mstore(add(m, 0x40), n)
            calldatacopy(add(m, 0x60), proofsPtr, proofBytes)
            calldatacopy(add(add(m, 0x60), proofBytes), accsPtr, accBytes)
            let seed := keccak256(m, add(add(0x60, proofBytes), accBytes))

            // Pairing input at m (overwrites the transcript): n pairs (r_i A_i, B_i), then
            // (R alpha, -beta), (sum r_i vk_x_i, -gamma), (sum r_i C_i, -delta); 192 bytes per pair.
            // Scratch after it: s = running sum of r_i C_i (64 bytes), s + 64 = ecMul/ecAdd operands.
            let pairs := add(n, 3)
            let s := add(m, mul(pairs, 192))
            let t := add(s, 64)
            mstore(0x40, add(t, 160))
            mstore(add(t, 128), 0) // expand memory once, so later precompile calls pay no expansion

            let rSum := 0
            let inSum := 0
            let outSum := 0
            for {
                let i := 0
            } and(ok, lt(i, n)) {
                i := add(i, 1)
            } {
                let pp := add(proofsPtr, shl(8, i))
                let dst := add(m, mul(i, 192))
                let ri := 1
                switch i
                case 0 {
                    calldatacopy(dst, pp, 64) // r_0 A_0 = A_0
                    calldatacopy(s, add(pp, 192), 64) // sum := C_0
                }
                default {
                    mstore(0, seed)
                    mstore(0x20, i)
                    ri := shr(128, keccak256(0, 0x40))
                    if iszero(ri) {
                        ri := 1
                    }
                    // r_i A_i
                    calldatacopy(t, pp, 64)
                    mstore(add(t, 64), ri)
                    ok := precompile(7, ECMUL_GAS, t, 96, dst, 64)
                    // sum += r_i C_i
                    calldatacopy(t, add(pp, 192), 64)
                    mstore(add(t, 64), ri)
                    ok := and(ok, precompile(7, ECMUL_GAS, t, 96, t, 64))
                    ok := and(ok, precompile(6, ECADD_GAS, s, 128, s, 64))
                }
                calldatacopy(add(dst, 64), add(pp, 64), 128) // B_i
                rSum := addmod(rSum, ri, R)
                let accIn := calldataload(add(accsPtr, shl(5, i)))
                let accOut := calldataload(add(accsPtr, shl(5, add(i, 1))))
                inSum := addmod(inSum, mulmod(ri, accIn, R), R)
                outSum := addmod(outSum, mulmod(ri, accOut, R), R)
            }

            if ok {
                let pa := add(m, mul(n, 192))
                // (sum r_i C_i, -delta)
                let pSumC := add(pa, 384)
                mcopy(pSumC, s, 64)
                mstore(add(pSumC, 64), NEG_DELTA_X_IM)
                mstore(add(pSumC, 96), NEG_DELTA_X_RE)
                mstore(add(pSumC, 128), NEG_DELTA_Y_IM)
                mstore(add(pSumC, 160), NEG_DELTA_Y_RE)

                // (R alpha, -beta)
                mstore(t, ALPHA_X)
                mstore(add(t, 32), ALPHA_Y)
                mstore(add(t, 64), rSum)
                ok := precompile(7, ECMUL_GAS, t, 96, pa, 64)
                mstore(add(pa, 64), NEG_BETA_X_IM)
                mstore(add(pa, 96), NEG_BETA_X_RE)
                mstore(add(pa, 128), NEG_BETA_Y_IM)
                mstore(add(pa, 160), NEG_BETA_Y_RE)

                // (R IC0 + inSum IC1 + outSum IC2, -gamma): three scalar multiplications for the whole batch.
                let px := add(pa, 192)
                mstore(t, IC0_X)
                mstore(add(t, 32), IC0_Y)
                mstore(add(t, 64), rSum)
                ok := and(ok, precompile(7, ECMUL_GAS, t, 96, s, 64))
                mstore(t, IC1_X)
                mstore(add(t, 32), IC1_Y)
                mstore(add(t, 64), inSum)
                ok := and(ok, precompile(7, ECMUL_GAS, t, 96, t, 64))
                ok := and(ok, precompile(6, ECADD_GAS, s, 128, s, 64))
                mstore(t, IC2_X)
                mstore(add(t, 32), IC2_Y)
                mstore(add(t, 64), outSum)
                ok := and(ok, precompile(7, ECMUL_GAS, t, 96, t, 64))
                ok := and(ok, precompile(6, ECADD_GAS, s, 128, px, 64))
                mstore(add(px, 64), NEG_GAMMA_X_IM)
                mstore(add(px, 96), NEG_GAMMA_X_RE)
                mstore(add(px, 128), NEG_GAMMA_Y_IM)
                mstore(add(px, 160), NEG_GAMMA_Y_RE)

                if ok {
                    mstore(0, 0)
                    ok := precompile(8, add(PAIRING_BASE_GAS, mul(PAIRING_PER_PAIR_GAS, pairs)), m, mul(pairs, 192), 0, 0x20)
                    ok := and(ok, eq(mload(0), 1))
                }
            }
            valid := ok
        }
    }
}
`;
}

/** The header lines of the single verifier that describe the circuit and its setup. */
function describeFromSingle(singlePath: string): string[] {
  if (!existsSync(singlePath)) return [];
  return readFileSync(singlePath, "utf8")
    .split("\n")
    .filter((l) => /^\/\/ (Circuit|Setup|WARNING):/.test(l))
    .map((l) => l.slice(3));
}

/** Renders the batch verifier of a chunk target from its committed vkey. */
export function renderBatchVerifierFor(targetName: string): { path: string; text: string; contractName: string } {
  const paths = batchVerifierPaths(targetName);
  const vkey = JSON.parse(readFileSync(paths.vkey, "utf8")) as ChunkVkey;
  const text = renderBatchVerifier({
    contractName: paths.contractName,
    vkey,
    vkeyPath: paths.vkey,
    describe: [...describeFromSingle(paths.single), `Single-proof verifier of the same key: ${relative(ROOT, paths.single)}.`],
  });
  return { path: paths.out, text, contractName: paths.contractName };
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { check: { type: "boolean", default: false } } });
  const targets = positionals.length > 0 ? positionals : chunkTargetsWithVkey();
  let stale = 0;
  for (const target of targets) {
    const { path, text } = renderBatchVerifierFor(target);
    const rel = relative(ROOT, path);
    if (values.check) {
      const current = existsSync(path) ? readFileSync(path, "utf8") : undefined;
      if (current === text) {
        console.log(`ok: ${rel}`);
      } else {
        console.error(`DIFF: ${rel} is ${current === undefined ? "missing" : "out of date"}: run node scripts/circuits/batch-verifier.ts`);
        stale++;
      }
    } else {
      writeFileSync(path, text);
      console.log(`wrote ${rel}`);
    }
  }
  if (stale > 0) process.exit(1);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
