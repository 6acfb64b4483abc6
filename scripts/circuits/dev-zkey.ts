/**
 * A development Groth16 proving key (NOT FOR PRODUCTION), computed directly from its secrets.
 *
 * What it makes: byte for byte the zkey that snarkjs makes with `zkey new` from the dev powers of
 * tau of 2^ptauPower (dev-ptau.ts) followed by ONE `zkey beacon` contribution, in seconds instead of
 * minutes, and without the ptau file. snarkjs computes every point of the key as a multi-scalar
 * multiplication over the ptau's Lagrange basis points (A_i = sum_j a_ij * L_j(tau) G, ...) and then
 * multiplies the C and H points by 1/delta (variable-base work over every point); knowing tau,
 * alpha, beta and delta we compute each point's scalar in the field (u_i(tau), beta u_i(tau) +
 * alpha v_i(tau) + w_i(tau), the H basis, divided by delta where snarkjs divides) and multiply the
 * generator by it (fixed-base, dev-ptau-worker.ts). Same group elements, hence the same bytes; the
 * circuit hash and the contribution record are rebuilt the way snarkjs builds them.
 *
 * Why that is sound for development only: a Groth16 key is trustworthy only if nobody knows tau,
 * alpha, beta (phase 1) and delta (phase 2). The dev setup derives all of them from public beacons
 * (dev-ptau.ts for phase 1, `devPhase2Beacon` for phase 2), so the key made by snarkjs never had
 * secret toxic waste: computing it from the same derivation gives the same key and reveals nothing
 * that was not already public. Anyone can forge proofs for it, exactly as before; a production
 * setup (`build.ts --ptau`) runs snarkjs on a real ceremony's file and never reaches this module.
 *
 * File layout (snarkjs's binfile "zkey", version 1, 10 sections, in the order `zkey beacon` writes
 * them; points affine, Montgomery, little-endian): 1 protocol (Groth16); 2 header (field sizes,
 * nVars, nPublic, domain size, alpha1, beta1, beta2, gamma2, delta1, delta2); 3 IC; 4 the A and B
 * coefficients; 5 A; 6 B in G1; 7 B in G2; 8 C (the private wires' L query); 9 H; 10 the circuit
 * hash and the contribution (delta, its proof of knowledge, the transcript, the beacon parameters).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { ChaCha, buildBn128, type Bn128 } from "ffjavascript";
import {
  G2_COST,
  JOB_POINTS,
  POINT_BYTES,
  WorkerPool,
  beaconParams,
  beaconRng,
  chachaSeed,
  concat,
  devPtauSecrets,
  sectionHeader,
  u32,
  type Beacon,
} from "./dev-ptau.ts";
import { mod, pow, scalarsOf, type PointResult } from "./dev-ptau-worker.ts";
import { progress } from "./progress.ts";

/** Public seed of the dev phase 2 (NOT FOR PRODUCTION). */
export const DEV_PHASE2_SEED = "fedmarket dev phase-2 contribution - NOT FOR PRODUCTION";

/** The public `zkey beacon` contribution of a circuit's dev setup (NOT FOR PRODUCTION). */
export function devPhase2Beacon(circuitName: string): Beacon {
  return {
    name: "fedmarket dev phase 2 (NOT FOR PRODUCTION)",
    hashHex: createHash("sha256").update(`${DEV_PHASE2_SEED} ${circuitName}`).digest("hex"),
    iterationsExp: 10,
  };
}

/** How `writeDevZkey` runs. */
export interface DevZkeyOptions {
  /** Power of the dev ptau the key is made from (>= the circuit's domain power): the key depends on it. */
  readonly ptauPower: number;
  /** The phase-2 beacon (setup.ts: `devPhase2Beacon(name)`). */
  readonly beacon: Beacon;
  /** The beacon of the dev ptau (default: dev-ptau.ts's DEV_PTAU_BEACON). */
  readonly ptauBeacon?: Beacon;
  /** Progress and milestones, one line each. */
  readonly log?: (m: string) => void;
  /** Draw a progress bar on stderr (default: stderr is a TTY); otherwise progress is logged every 10 %. */
  readonly bar?: boolean;
  /** Worker threads (default: up to 2, one per core). */
  readonly workers?: number;
  /** Points per worker job (default 2048 in G1, 1024 in G2): tests use small jobs. */
  readonly jobPoints?: number;
}

/** What `writeDevZkey` wrote. */
export interface DevZkeyResult {
  /** The circuit hash snarkjs prints ("Circuit hash"), BLAKE2b-512. */
  readonly csHash: Uint8Array;
  readonly domainPower: number;
}

/** Points per csHash update of snarkjs's H-point hashing (zkey_new.js `hashHPoints`). */
const H_HASH_CHUNK = 1 << 14;

const le = (v: bigint, bytes: number): Uint8Array => {
  const out = new Uint8Array(bytes);
  for (let i = 0, x = v; i < bytes; i++, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
};

/** Big-endian u32: how snarkjs hashes section sizes into the circuit hash. */
const u32be = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, false);
  return b;
};

/** The parts of an R1CS file the key is made of. */
interface R1csData {
  readonly prime: bigint;
  readonly nVars: number;
  readonly nPublic: number;
  readonly nConstraints: number;
  /** Section 2 (the constraints), parsed by `forEachTerm`. */
  readonly constraints: Buffer;
  readonly n8: number;
}

function readR1csData(file: string): R1csData {
  const buf = readFileSync(file);
  if (buf.toString("ascii", 0, 4) !== "r1cs") throw new Error(`${file} is not an r1cs file`);
  const sections = new Map<number, { start: number; size: number }>();
  let pos = 12;
  for (let s = 0; s < buf.readUInt32LE(8); s++) {
    const size = Number(buf.readBigUInt64LE(pos + 4));
    // snarkjs reads the first section of each type.
    if (!sections.has(buf.readUInt32LE(pos))) sections.set(buf.readUInt32LE(pos), { start: pos + 12, size });
    pos += 12 + size;
  }
  const header = sections.get(1);
  const body = sections.get(2);
  if (header === undefined || body === undefined) throw new Error(`${file}: r1cs without header or constraints`);
  let h = header.start;
  const n8 = buf.readUInt32LE(h);
  let prime = 0n;
  for (let i = n8 - 1; i >= 0; i--) prime = (prime << 8n) | BigInt(buf[h + 4 + i]!);
  h += 4 + n8;
  return {
    prime,
    n8,
    nVars: buf.readUInt32LE(h),
    nPublic: buf.readUInt32LE(h + 4) + buf.readUInt32LE(h + 8),
    nConstraints: buf.readUInt32LE(h + 24),
    constraints: buf.subarray(body.start, body.start + body.size),
  };
}

/** Lets the event loop run: the worker pool hands out jobs from its message handlers. */
const breathe = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Calls `f` for every term of every constraint, in file order: matrix 0 (A), 1 (B), 2 (C); lets the
 * event loop run every few thousand constraints (`breathe`).
 */
async function forEachTerm(r1cs: R1csData, f: (matrix: 0 | 1 | 2, constraint: number, wire: number, coef: bigint) => void): Promise<void> {
  const buf = r1cs.constraints;
  let p = 0;
  for (let c = 0; c < r1cs.nConstraints; c++) {
    if (c % 2048 === 2047) await breathe();
    for (const matrix of [0, 1, 2] as const) {
      const n = buf.readUInt32LE(p);
      p += 4;
      for (let i = 0; i < n; i++) {
        const wire = buf.readUInt32LE(p);
        let coef = 0n;
        // 64 bits at a time (n8 = 32, checked by writeDevZkey): hundreds of thousands of terms.
        for (let k = r1cs.n8 - 8; k >= 0; k -= 8) coef = (coef << 64n) | buf.readBigUInt64LE(p + 4 + k);
        p += 4 + r1cs.n8;
        f(matrix, c, wire, coef);
      }
    }
  }
}

/** A set of points of the key: its scalars, its group, which byte forms are needed. */
interface PointSet {
  readonly group: 1 | 2;
  readonly scalars: readonly bigint[];
  /** Written to the file (affine Montgomery). */
  readonly lem: boolean;
  /** Hashed into the circuit hash (uncompressed). */
  readonly uncompressed: boolean;
}

/** The bytes of a computed point set. */
interface PointBytes {
  readonly lem: Uint8Array;
  readonly uncompressed: Uint8Array;
}

/** The parts of ffjavascript's curve API used here beyond ffjavascript.d.ts. */
interface CurveExtras {
  readonly G1: { sub(a: Uint8Array, b: Uint8Array): Uint8Array };
}

/**
 * Writes the dev zkey of the circuit `r1csFile` to `file`: the same bytes as snarkjs's
 * `newZKey(r1cs, dev ptau of 2^ptauPower)` followed by `beacon(beacon)`, computed without the ptau
 * file (see the header). NOT FOR PRODUCTION: the toxic waste is public.
 */
export async function writeDevZkey(r1csFile: string, file: string, options: DevZkeyOptions): Promise<DevZkeyResult> {
  const log = options.log ?? ((): void => {});
  const r1cs = readR1csData(r1csFile);
  const { nVars, nPublic, nConstraints } = r1cs;
  const curve = await buildBn128(true);
  const r = curve.r;
  if (r1cs.prime !== r || r1cs.n8 !== 32) throw new Error(`${r1csFile}: the r1cs field is not bn128's`);
  const jobPoints = options.jobPoints;
  if (jobPoints !== undefined && !(Number.isInteger(jobPoints) && jobPoints >= 1))
    throw new Error(`jobPoints must be a positive integer, got ${jobPoints}`);
  // snarkjs: log2(nConstraints + nPublic) + 1, the smallest power whose domain holds nConstraints + nPublic + 1.
  const domainPower = (nConstraints + nPublic).toString(2).length;
  const ptauPower = options.ptauPower;
  if (!Number.isInteger(ptauPower) || ptauPower < domainPower || ptauPower > 27) {
    throw new Error(`the circuit's 2^${domainPower} domain needs a ptau power in ${domainPower}..27, got ${ptauPower}`);
  }
  const n = 2 ** domainPower;
  let fh: FileHandle | undefined;
  let workers: WorkerPool | undefined;
  let bar: { stop(): void } | undefined;
  try {
    // tau, alpha, beta: the same for every power; the power matters for H and the circuit hash (below).
    const { tau, alpha, beta } = devPtauSecrets(curve, options.ptauBeacon);
    const omega = (p: number): bigint => curve.Fr.toObject(curve.Fr.w[p]!);

    // Phase 2: delta is the beacon's first draw (the transcript, which needs the circuit hash, only
    // enters its proof of knowledge), so the C and H points can be divided by it right away.
    const rng = beaconRng(options.beacon);
    const deltaPrv = curve.Fr.fromRng(rng);
    const delta = curve.Fr.toObject(deltaPrv);
    const invDelta = pow(delta, r - 2n, r);

    // Which points, how many: the pool's window widths and the progress total depend on the counts,
    // known from the header, so the workers start on the first sets while the next are computed.
    // The circuit hash covers H as the points (tau^(i+n) - tau^i) G of the powers section, read in
    // chunks of 2^14 with a chunk length of min(n - 1, 2^14): from n = 2^15 on, the last chunk runs
    // one point past n - 1, to i = n - 1, whose tau^(2n-1) is past the end of a 2^domainPower ptau's
    // powers section (2n - 1 points): snarkjs then reads the next bytes of the file as that point.
    let hashedH = 0;
    for (let i = 0; i < n - 1; i += H_HASH_CHUNK) hashedH += Math.min(n - 1, H_HASH_CHUNK);
    const pastEnd = hashedH === n && ptauPower === domainPower;
    const nPrivate = nVars - nPublic - 1;
    // head, IC, hashed H, tau^(n-1), C twice (undivided for the hash), A, B1, H | beta2, B2
    const g1Points = 2 + (nPublic + 1) + hashedH + 2 * nPrivate + 2 * nVars + n;
    const g2Points = 1 + nVars;
    // 4 jobs ahead per worker: the main thread computes the next point sets meanwhile.
    workers = WorkerPool.forPoints(curve, { g1: g1Points, g2: g2Points }, options.workers, 4);
    const pool = workers;
    const progressBar = progress(`dev zkey (NOT FOR PRODUCTION)`, g1Points + G2_COST * g2Points, { log, bar: options.bar });
    bar = progressBar;
    /** Queues the fixed-base multiplications of a point set on the pool (dev-ptau.ts). */
    const submit = (s: PointSet): Promise<PointBytes> => {
      const size = jobPoints ?? JOB_POINTS[s.group];
      const jobs: Promise<PointResult>[] = [];
      for (let i = 0; i < s.scalars.length; i += size) {
        const values = s.scalars.slice(i, i + size);
        const job = pool.run({ group: s.group, scalars: { kind: "values", values }, compressed: false, uncompressed: s.uncompressed });
        jobs.push(job.then((res) => (progressBar.add(values.length * (s.group === 2 ? G2_COST : 1)), res)));
      }
      const done = Promise.all(jobs).then((results) => ({
        lem: s.lem ? concat(results.map((res) => res.lem)) : new Uint8Array(0),
        uncompressed: s.uncompressed ? concat(results.map((res) => res.uncompressed!)) : new Uint8Array(0),
      }));
      done.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"
      return done;
    };

    const head = submit({ group: 1, scalars: [alpha, beta], lem: true, uncompressed: true });
    const beta2 = submit({ group: 2, scalars: [beta], lem: true, uncompressed: true });

    // H: the odd points of the 2n basis (zkey_new.js writeHs), divided by delta. A ptau of exactly the
    // domain's power computes that basis from its 2n - 1 powers and a zero point (prepare phase2).
    const lagrange = (size: number, power: number, dropLast: boolean): bigint[] =>
      scalarsOf({ kind: "lagrange", tau, n: size, omega: omega(power), start: 0, count: size, factor: 1n, dropLast }, r);
    await breathe();
    const basis2 = lagrange(2 * n, domainPower + 1, ptauPower === domainPower);
    await breathe();
    const h = submit({
      group: 1,
      scalars: Array.from({ length: n }, (_, i) => (basis2[2 * i + 1]! * invDelta) % r),
      lem: true,
      uncompressed: false,
    });
    const tauN1 = (pow(tau, BigInt(n), r) - 1n + r) % r;
    const hScalars: bigint[] = [];
    for (let i = 0, t = 1n; i < (pastEnd ? n - 1 : hashedH); i++, t = (t * tau) % r) hScalars.push((t * tauN1) % r);
    const hHashed = submit({ group: 1, scalars: hScalars, lem: false, uncompressed: true });
    await breathe();
    const lastPower = submit({ group: 1, scalars: pastEnd ? [pow(tau, BigInt(n - 1), r)] : [], lem: true, uncompressed: false });

    // The Lagrange basis of the domain at tau, and its multiples by alpha and beta (ptau sections 12, 14, 15).
    const basis = lagrange(n, domainPower, false);
    await breathe();
    const alphaBasis = basis.map((l) => (l * alpha) % r);
    const betaBasis = basis.map((l) => (l * beta) % r);
    await breathe();

    // u_i(tau) (A), v_i(tau) (B) and beta u_i + alpha v_i + w_i (IC for public wires, C for the others),
    // as snarkjs's processConstraints sums them (reduced at the end); the coefficient section lists
    // the A and B terms.
    const a = new Array<bigint>(nVars).fill(0n);
    const b = new Array<bigint>(nVars).fill(0n);
    const k = new Array<bigint>(nVars).fill(0n);
    const coefs: { matrix: number; constraint: number; wire: number; coef: bigint }[] = [];
    await forEachTerm(r1cs, (matrix, c, wire, coef) => {
      if (wire >= nVars) throw new Error(`${r1csFile}: wire ${wire} out of range`);
      if (matrix === 0) {
        a[wire] = a[wire]! + coef * basis[c]!;
        k[wire] = k[wire]! + coef * betaBasis[c]!;
        coefs.push({ matrix, constraint: c, wire, coef });
      } else if (matrix === 1) {
        b[wire] = b[wire]! + coef * basis[c]!;
        k[wire] = k[wire]! + coef * alphaBasis[c]!;
        coefs.push({ matrix, constraint: c, wire, coef });
      } else {
        k[wire] = k[wire]! + coef * basis[c]!;
      }
    });
    // snarkjs adds a term L_(nConstraints + s) to A for every public wire s (and the constant one),
    // which makes the IC points linearly independent.
    for (let s = 0; s <= nPublic; s++) {
      a[s] = a[s]! + basis[nConstraints + s]!;
      k[s] = k[s]! + betaBasis[nConstraints + s]!;
      coefs.push({ matrix: 0, constraint: nConstraints + s, wire: s, coef: 1n });
    }
    const red = (v: bigint): bigint => v % r;
    const cUndivided = k.slice(nPublic + 1).map(red);
    const bScalars = b.map(red);
    const sets = {
      head,
      beta2,
      ic: submit({ group: 1, scalars: k.slice(0, nPublic + 1).map(red), lem: true, uncompressed: true }),
      hHashed,
      lastPower,
      cUndivided: submit({ group: 1, scalars: cUndivided, lem: false, uncompressed: true }),
      a: submit({ group: 1, scalars: a.map(red), lem: true, uncompressed: true }),
      b1: submit({ group: 1, scalars: bScalars, lem: true, uncompressed: true }),
      b2: submit({ group: 2, scalars: bScalars, lem: true, uncompressed: true }),
      c: submit({ group: 1, scalars: cUndivided.map((v) => (v * invDelta) % r), lem: true, uncompressed: false }),
      h,
    };
    // Coefficients as snarkjs stores them, (matrix, constraint, wire, coef * R^2 mod r) with
    // R = 2^256 mod r; serialised while the workers compute the points.
    const rMont = (1n << 256n) % r;
    const r2 = (rMont * rMont) % r;
    const coefBytes = new Uint8Array(4 + coefs.length * 44);
    const coefView = new DataView(coefBytes.buffer);
    // Circuits repeat a few coefficients (1, -1, powers of two) over and over.
    const coefCache = new Map<bigint, Uint8Array>();
    coefView.setUint32(0, coefs.length, true);
    coefs.forEach((e, i) => {
      const at = 4 + i * 44;
      coefView.setUint32(at, e.matrix, true);
      coefView.setUint32(at + 4, e.constraint, true);
      coefView.setUint32(at + 8, e.wire, true);
      let bytes = coefCache.get(e.coef);
      if (bytes === undefined) {
        bytes = le((mod(e.coef, r) * r2) % r, 32);
        coefCache.set(e.coef, bytes);
      }
      coefBytes.set(bytes, at + 12);
    });

    const computed = new Map<Promise<PointBytes>, PointBytes>();
    for (const s of Object.values(sets)) computed.set(s, await s);
    progressBar.stop();
    const pts = (s: Promise<PointBytes>): PointBytes => computed.get(s)!;

    // The circuit hash, in zkey_new.js's order: header points (gamma = 1, delta = 1 before phase 2),
    // IC, H, C, A, B1, B2, each point set preceded by its size.
    const g1 = curve.G1.toUncompressed(curve.G1.oneAffine);
    const g2 = curve.G2.toUncompressed(curve.G2.oneAffine);
    const cs = createHash("blake2b512");
    cs.update(pts(sets.head).uncompressed).update(pts(sets.beta2).uncompressed).update(g2).update(g1).update(g2);
    cs.update(u32be(nPublic + 1)).update(pts(sets.ic).uncompressed);
    cs.update(u32be(n - 1)).update(pts(sets.hHashed).uncompressed);
    if (pastEnd) cs.update(pastEndPoint(curve, ptauPower, pts(sets.lastPower).lem));
    cs.update(u32be(nVars - nPublic - 1)).update(pts(sets.cUndivided).uncompressed);
    for (const s of [sets.a, sets.b1, sets.b2]) cs.update(u32be(nVars)).update(pts(s).uncompressed);
    const csHash = new Uint8Array(cs.digest());

    // The beacon's proof of knowledge of delta (zkey_beacon.js).
    const g1s = curve.G1.toAffine(curve.G1.fromRng(rng));
    const g1sx = curve.G1.toAffine(curve.G1.timesFr(g1s, deltaPrv));
    const transcript = new Uint8Array(
      createHash("blake2b512").update(csHash).update(curve.G1.toUncompressed(g1s)).update(curve.G1.toUncompressed(g1sx)).digest(),
    );
    const g2sp = curve.G2.fromRng(new ChaCha(chachaSeed(transcript)));
    const g2spx = curve.G2.toAffine(curve.G2.timesFr(g2sp, deltaPrv));
    const delta1 = curve.G1.toAffine(curve.G1.timesFr(curve.G1.oneAffine, deltaPrv));
    const delta2 = curve.G2.toAffine(curve.G2.timesFr(curve.G2.oneAffine, deltaPrv));

    const headA = pts(sets.head).lem;
    const section = (id: number, parts: readonly Uint8Array[]): Uint8Array[] => [
      sectionHeader(
        id,
        parts.reduce((s, p) => s + p.length, 0),
      ),
      ...parts,
    ];
    const params = beaconParams(options.beacon);
    const out: Uint8Array[] = [
      new TextEncoder().encode("zkey"),
      u32(1),
      u32(10),
      ...section(1, [u32(1)]),
      ...section(2, [
        u32(32),
        le(curve.q, 32),
        u32(32),
        le(r, 32),
        u32(nVars),
        u32(nPublic),
        u32(n),
        headA.subarray(0, POINT_BYTES[1]), // alpha1
        headA.subarray(POINT_BYTES[1]), // beta1
        pts(sets.beta2).lem,
        curve.G2.oneAffine, // gamma2
        delta1,
        delta2,
      ]),
      ...section(3, [pts(sets.ic).lem]),
      ...section(4, [coefBytes]),
      ...section(5, [pts(sets.a).lem]),
      ...section(6, [pts(sets.b1).lem]),
      ...section(7, [pts(sets.b2).lem]),
      ...section(8, [pts(sets.c).lem]),
      ...section(9, [pts(sets.h).lem]),
      ...section(10, [csHash, u32(1), delta1, g1s, g1sx, g2spx, transcript, u32(1) /* type: beacon */, u32(params.length), params]),
    ];
    fh = await open(file, "w");
    for (const part of out) await fh.write(part);
    return { csHash, domainPower };
  } finally {
    bar?.stop();
    await fh?.close();
    await workers?.close();
    await curve.terminate();
  }
}

/**
 * The circuit-hash entry of the H point snarkjs reads past the end of a 2^power ptau's powers
 * section (see writeDevZkey): g1m_subAffine of the 64 bytes that follow the section (the next
 * section's 12-byte header, id 3 and size 2^power * 128, and the first 52 bytes of its first point,
 * the G2 generator) and tau^(n-1) G, made affine and uncompressed as snarkjs does. Not a curve point,
 * but a deterministic function of the file, which is all the hash needs.
 */
function pastEndPoint(curve: Bn128, power: number, lastPowerLem: Uint8Array): Uint8Array {
  const garbage = concat([sectionHeader(3, 2 ** power * POINT_BYTES[2]), curve.G2.oneAffine.subarray(0, POINT_BYTES[1] - 12)]);
  const extras = curve as unknown as CurveExtras;
  const diff = extras.G1.sub(garbage, lastPowerLem);
  return curve.G1.toUncompressed(curve.G1.toAffine(diff));
}
