/**
 * A development powers-of-tau file (NOT FOR PRODUCTION), computed directly from its secrets.
 *
 * What it makes: byte for byte the file that simulating a ceremony with snarkjs makes
 * (`powersoftau new`, ONE `beacon` contribution, `prepare phase2`), in seconds instead of minutes.
 * snarkjs's prepare-phase2 turns the powers tau^j * G into the Lagrange basis L_i(tau) * G of every
 * power-of-two domain with inverse FFTs over curve points (n log n variable-base multiplications);
 * knowing tau we compute each scalar L_i(tau) in the field and multiply the generator by it
 * (fixed-base, dev-ptau-worker.ts), and the same for tau^j, alpha * tau^j and beta * tau^j.
 *
 * Why that is sound for development only: a powers-of-tau file is trustworthy only if nobody knows
 * tau, alpha and beta (the "toxic waste"); whoever knows them can forge Groth16 proofs for every
 * circuit set up from the file. A beacon contribution derives them from a public hash, so the
 * ceremony-simulated dev file never had secret toxic waste to begin with: computing the file from
 * the same derivation gives the same file and reveals nothing that was not already public. It is
 * exactly as insecure as before, and just as unfit for production: there, use a real multi-party
 * ceremony's file (`build.ts --ptau`, see ceremony-ptau.ts), which this module never touches.
 *
 * File layout for power p (snarkjs's binfile "ptau", version 1, 11 sections; points affine,
 * Montgomery, little-endian): 1 header; 2 tau^j G1 (j < 2^(p+1) - 1); 3 tau^j G2; 4 alpha tau^j G1;
 * 5 beta tau^j G1 (j < 2^p each); 6 beta G2; 7 the contribution (its points, public key, the
 * partial response hash, the next challenge hash, the beacon parameters); 12-15 the Lagrange bases
 * of sections 2-5 for every domain 2^0 .. 2^p (and 2^(p+1) for section 2, from its 2^(p+1) - 1
 * powers and a zero point, as snarkjs does).
 */
import { createHash } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { ChaCha, buildBn128, type Bn128 } from "ffjavascript";
import { Blake2b512 } from "./blake2b.ts";
import { progress } from "./progress.ts";
import { countOf, type PointJob, type PointResult, type ScalarSpec, type WorkerInit } from "./dev-ptau-worker.ts";

/** Public seed of the dev phase 1 (NOT FOR PRODUCTION). */
export const DEV_PTAU_SEED = "fedmarket dev powers of tau - NOT FOR PRODUCTION";

/** The parameters of a snarkjs `powersoftau beacon` contribution. */
export interface Beacon {
  /** The contribution's name (snarkjs keeps its first 64 characters). */
  readonly name: string;
  /** The beacon value, hex. */
  readonly hashHex: string;
  /** The beacon is hashed 2^iterationsExp times with SHA-256. */
  readonly iterationsExp: number;
}

/** The public beacon of every dev ptau file (NOT FOR PRODUCTION). */
export const DEV_PTAU_BEACON: Beacon = {
  name: "fedmarket dev phase 1 (NOT FOR PRODUCTION)",
  hashHex: createHash("sha256").update(DEV_PTAU_SEED).digest("hex"),
  iterationsExp: 10,
};

/** How `writeDevPtau` runs. */
export interface DevPtauOptions {
  /** The beacon (default DEV_PTAU_BEACON). */
  readonly beacon?: Beacon;
  /** Progress and milestones, one line each. */
  readonly log?: (m: string) => void;
  /** Draw a progress bar on stderr (default: stderr is a TTY); otherwise progress is logged every 10 %. */
  readonly bar?: boolean;
  /** Worker threads (default: up to 2, one per core). */
  readonly workers?: number;
  /** Points per worker job (a power of two up to 8192; default 2048 in G1, 1024 in G2): tests use small jobs. */
  readonly jobPoints?: number;
}

/** Points per job: powers of two that divide snarkjs's hashing chunks (2^20 bytes of points). */
export const JOB_POINTS = { 1: 2048, 2: 1024 } as const;
/** Points per `update` of snarkjs's response hasher (`2^20 / point size`): the partial hash depends on it. */
const HASH_CHUNK_POINTS = { 1: 16384, 2: 8192 } as const;
/** Affine point size per group. */
export const POINT_BYTES = { 1: 64, 2: 128 } as const;
/** Relative cost of a G2 point (one fixed-base multiplication), for progress and window sizes. */
export const G2_COST = 4;

/** Little-endian u32. */
export const u32 = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
};

/** A section header: id (u32) and size (u64). */
export const sectionHeader = (id: number, size: number): Uint8Array => {
  const b = new Uint8Array(12);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, id, true);
  dv.setBigUint64(4, BigInt(size), true);
  return b;
};

export const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** The first 8 big-endian u32 of a hash: how snarkjs seeds ChaCha from a hash. */
export const chachaSeed = (hash: Uint8Array): number[] => {
  const dv = new DataView(hash.buffer, hash.byteOffset, hash.byteLength);
  return Array.from({ length: 8 }, (_, i) => dv.getUint32(4 * i, false));
};

/**
 * The challenge a first contribution answers: the BLAKE2b of the empty hash and the uncompressed
 * points of a fresh accumulator (every point a generator), as `powersoftau new` defines it.
 */
function firstChallenge(curve: Bn128, power: number): Uint8Array {
  const h = createHash("blake2b512").update(createHash("blake2b512").digest());
  const g1 = curve.G1.toUncompressed(curve.G1.oneAffine);
  const g2 = curve.G2.toUncompressed(curve.G2.oneAffine);
  const repeat = (point: Uint8Array, times: number): void => {
    const block = Buffer.alloc(point.length * Math.min(times, 4096));
    for (let i = 0; i < block.length; i += point.length) block.set(point, i);
    for (let left = times; left > 0; left -= block.length / point.length) {
      h.update(left * point.length >= block.length ? block : block.subarray(0, left * point.length));
    }
  };
  const n = 2 ** power;
  repeat(g1, 2 * n - 1);
  repeat(g2, n);
  repeat(g1, n);
  repeat(g1, n);
  h.update(g2);
  return h.digest();
}

/** One of tau, alpha, beta with the proof of knowledge a contribution publishes for it. */
interface KeyPart {
  /** The secret, in ffjavascript's Fr representation. */
  readonly prv: Uint8Array;
  readonly g1s: Uint8Array;
  readonly g1sx: Uint8Array;
  readonly g2spx: Uint8Array;
}

/**
 * The generator a snarkjs beacon contribution (`powersoftau beacon`, `zkey beacon`) draws its
 * secrets from: the beacon hashed 2^iterationsExp times with SHA-256 seeds ChaCha.
 */
export function beaconRng(beacon: Pick<Beacon, "hashHex" | "iterationsExp">): ChaCha {
  if (!/^([0-9a-fA-F]{2}){1,255}$/.test(beacon.hashHex)) {
    throw new Error(`beacon hash must be 1 to 255 bytes of hex, got "${beacon.hashHex}"`);
  }
  if (!Number.isInteger(beacon.iterationsExp) || beacon.iterationsExp < 10 || beacon.iterationsExp > 40) {
    throw new Error(`beacon iterationsExp must be an integer in 10..40, got ${beacon.iterationsExp}`);
  }
  let hash: Uint8Array = Buffer.from(beacon.hashHex, "hex");
  for (let i = 0; i < 2 ** beacon.iterationsExp; i++) hash = createHash("sha256").update(hash).digest();
  return new ChaCha(chachaSeed(hash));
}

/**
 * The toxic waste of every dev ptau (NOT FOR PRODUCTION: public by construction): tau, alpha and
 * beta of its beacon contribution. They are the beacon generator's first three draws (`beaconKey`),
 * before anything that depends on the power, so every power's file has the same ones.
 */
export function devPtauSecrets(curve: Bn128, beacon: Beacon = DEV_PTAU_BEACON): { tau: bigint; alpha: bigint; beta: bigint } {
  const rng = beaconRng(beacon);
  const [tau, alpha, beta] = [0, 1, 2].map(() => curve.Fr.toObject(curve.Fr.fromRng(rng))) as [bigint, bigint, bigint];
  return { tau, alpha, beta };
}

/**
 * tau, alpha and beta of a beacon contribution, derived as `powersoftau beacon` derives them: the
 * beacon hashed 2^iterationsExp times with SHA-256 seeds ChaCha; three field elements, then per
 * secret x a random G1 point s, s*x, and the G2 point hashed from (index, challenge, s, s*x) times x.
 */
function beaconKey(curve: Bn128, challenge: Uint8Array, beacon: Beacon): { tau: KeyPart; alpha: KeyPart; beta: KeyPart } {
  const rng = beaconRng(beacon);
  const prvs = [curve.Fr.fromRng(rng), curve.Fr.fromRng(rng), curve.Fr.fromRng(rng)] as const;
  const part = (prv: Uint8Array, personalization: number): KeyPart => {
    const g1s = curve.G1.toAffine(curve.G1.fromRng(rng));
    const g1sx = curve.G1.toAffine(curve.G1.timesFr(g1s, prv));
    const h = createHash("blake2b512")
      .update(Uint8Array.of(personalization))
      .update(challenge)
      .update(curve.G1.toUncompressed(g1s))
      .update(curve.G1.toUncompressed(g1sx))
      .digest();
    const g2sp = curve.G2.toAffine(curve.G2.fromRng(new ChaCha(chachaSeed(h))));
    return { prv, g1s, g1sx, g2spx: curve.G2.toAffine(curve.G2.timesFr(g2sp, prv)) };
  };
  return { tau: part(prvs[0], 0), alpha: part(prvs[1], 1), beta: part(prvs[2], 2) };
}

/** The beacon parameters as a contribution stores them: (type, length, bytes) records, sorted by type. */
export function beaconParams(beacon: Beacon): Uint8Array {
  const name = new TextEncoder().encode(beacon.name.substring(0, 64));
  const hash = Buffer.from(beacon.hashHex, "hex");
  return Uint8Array.from([1, name.length, ...name, 2, beacon.iterationsExp, 3, hash.length, ...hash]);
}

/**
 * Runs point jobs on worker threads, up to `depth` jobs posted to each worker at a time (a worker
 * runs its messages in order): depth > 1 keeps the workers busy while the main thread computes
 * without returning to the event loop for a while (dev-zkey.ts).
 */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  /** Jobs posted to each worker and not answered yet. */
  private readonly load = new Map<Worker, number>();
  private readonly depth: number;
  private readonly queue: { job: PointJob; resolve: (r: PointResult) => void; reject: (e: Error) => void }[] = [];
  private readonly running = new Map<number, { resolve: (r: PointResult) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;
  private closing = false;

  /**
   * A pool of `workers` threads (default: up to 2, one per core) for `g1Points` G1 and `g2Points` G2
   * fixed-base points over `curve`, with window widths fitted to each worker's share.
   */
  static forPoints(curve: Bn128, points: { readonly g1: number; readonly g2: number }, workers?: number, depth = 1): WorkerPool {
    const size = Math.max(1, workers ?? Math.min(2, availableParallelism()));
    const init: WorkerInit = {
      code: curve.tm.code,
      g1Gen: curve.tm.pG1gen,
      g2Gen: curve.tm.pG2gen,
      r: curve.r,
      g1Window: windowFor(points.g1 / size),
      g2Window: windowFor(points.g2 / size),
    };
    return new WorkerPool(init, size, depth);
  }

  /** Threads in the pool. */
  get size(): number {
    return this.workers.length;
  }

  constructor(init: WorkerInit, size: number, depth = 1) {
    this.depth = Math.max(1, depth);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL("./dev-ptau-worker.ts", import.meta.url), { workerData: init });
      worker.on("message", (result: PointResult) => {
        const entry = this.running.get(result.id);
        this.running.delete(result.id);
        this.load.set(worker, this.load.get(worker)! - 1);
        if (result.error !== undefined) entry?.reject(new Error(`dev ptau worker: ${result.error}`));
        else entry?.resolve(result);
        this.dispatch();
      });
      worker.on("error", (e) => this.fail(e));
      // A worker that dies without an error event (killed, out of memory) must not leave jobs pending forever.
      worker.on("exit", (code) => {
        if (!this.closing) this.fail(new Error(`dev ptau worker exited with code ${code}`));
      });
      this.workers.push(worker);
      this.load.set(worker, 0);
    }
  }

  /** Computes the points of one job. */
  run(job: Omit<PointJob, "id">): Promise<PointResult> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { ...job, id: this.nextId++ }, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      // The least loaded worker, if it can take another job.
      let worker: Worker | undefined;
      for (const w of this.workers)
        if (this.load.get(w)! < this.depth && (worker === undefined || this.load.get(w)! < this.load.get(worker)!)) worker = w;
      if (worker === undefined) break;
      this.load.set(worker, this.load.get(worker)! + 1);
      const { job, resolve, reject } = this.queue.shift()!;
      this.running.set(job.id, { resolve, reject });
      worker.postMessage(job);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const { reject } of [...this.running.values(), ...this.queue]) reject(e);
    this.running.clear();
    this.queue.length = 0;
  }
}

/** One section of points: which group, which scalars, whether its points enter the contribution hashes. */
interface PointSection {
  readonly id: number;
  readonly group: 1 | 2;
  readonly jobs: readonly ScalarSpec[];
  readonly hashed: boolean;
}

const pointsOf = (s: PointSection): number => s.jobs.reduce((sum, j) => sum + countOf(j), 0);

/**
 * The point sections of the file, in file order: `before` the contribution (2-6: powers of tau,
 * hashed into the contribution) and `after` it (12-15: Lagrange bases, for phase 2).
 */
function pointSections(
  power: number,
  secrets: { tau: bigint; alpha: bigint; beta: bigint },
  omega: (p: number) => bigint,
  jobPoints: (g: 1 | 2) => number,
): { before: PointSection[]; after: PointSection[] } {
  const { tau, alpha, beta } = secrets;
  const n = 2 ** power;
  const split = (count: number, group: 1 | 2, make: (start: number, count: number) => ScalarSpec): ScalarSpec[] => {
    const jobs: ScalarSpec[] = [];
    for (let start = 0; start < count; start += jobPoints(group)) jobs.push(make(start, Math.min(jobPoints(group), count - start)));
    return jobs;
  };
  const powers = (id: number, group: 1 | 2, factor: bigint, count: number): PointSection => ({
    id,
    group,
    hashed: true,
    jobs: split(count, group, (start, c) => ({ kind: "powers", factor, ratio: tau, start, count: c })),
  });
  // Section 12 also has the 2^(power+1) basis, from the 2^(power+1) - 1 powers of section 2 and a zero point.
  const lagrange = (id: number, group: 1 | 2, factor: bigint, lastPower: number): PointSection => {
    const jobs: ScalarSpec[] = [];
    for (let p = 0; p <= lastPower; p++) {
      const dropLast = p === power + 1;
      jobs.push(
        ...split(2 ** p, group, (start, c) => ({ kind: "lagrange", tau, n: 2 ** p, omega: omega(p), start, count: c, factor, dropLast })),
      );
    }
    return { id, group, hashed: false, jobs };
  };
  return {
    before: [powers(2, 1, 1n, 2 * n - 1), powers(3, 2, 1n, n), powers(4, 1, alpha, n), powers(5, 1, beta, n), powers(6, 2, beta, 1)],
    after: [lagrange(12, 1, 1n, power + 1), lagrange(13, 2, 1n, power), lagrange(14, 1, alpha, power), lagrange(15, 1, beta, power)],
  };
}

/** Window width minimising table building plus additions for `points` multiplications per worker. */
function windowFor(points: number): number {
  let best = 2;
  // A table entry (a Jacobian addition) costs about two of the batched affine additions.
  const cost = (w: number): number => Math.ceil(254 / w) * (points + 2 * 2 ** w);
  for (let w = 3; w <= 13; w++) if (cost(w) < cost(best)) best = w;
  return best;
}

/** Runs jobs on the pool a few per worker ahead of the consumer, and hands out results in job order. */
export function inOrder(pool: WorkerPool, jobs: Omit<PointJob, "id">[], ahead: number): () => Promise<PointResult> {
  const queue = [...jobs];
  const inFlight: Promise<PointResult>[] = [];
  const refill = (): void => {
    while (inFlight.length < ahead && queue.length > 0) {
      const p = pool.run(queue.shift()!);
      p.catch(() => {}); // awaited in order by the consumer; this only keeps an early failure from being "unhandled"
      inFlight.push(p);
    }
  };
  return async () => {
    refill();
    const next = inFlight.shift();
    if (next === undefined) throw new Error("no more dev ptau jobs");
    const result = await next;
    refill();
    return result;
  };
}

/**
 * Writes the dev powers of tau of 2^power to `file`: the same bytes as snarkjs's
 * `newAccumulator(power)` + `beacon(beacon)` + `preparePhase2`, computed without the ceremony's
 * FFTs (see the header). NOT FOR PRODUCTION: the beacon, hence the toxic waste, is public.
 */
export async function writeDevPtau(power: number, file: string, options: DevPtauOptions = {}): Promise<void> {
  if (!Number.isInteger(power) || power < 1 || power > 27) throw new Error(`ptau power must be an integer in 1..27, got ${power}`);
  const jobPoints = options.jobPoints;
  if (jobPoints !== undefined && !(Number.isInteger(Math.log2(jobPoints)) && jobPoints >= 1 && jobPoints <= HASH_CHUNK_POINTS[2])) {
    throw new Error(`jobPoints must be a power of two from 1 to ${HASH_CHUNK_POINTS[2]}, got ${jobPoints}`);
  }
  const beacon = options.beacon ?? DEV_PTAU_BEACON;
  const log = options.log ?? ((): void => {});
  const curve = await buildBn128(true);
  const challenge = firstChallenge(curve, power);
  const key = beaconKey(curve, challenge, beacon);
  const [tau, alpha, beta] = [key.tau, key.alpha, key.beta].map((k) => curve.Fr.toObject(k.prv)) as [bigint, bigint, bigint];
  const { before, after } = pointSections(
    power,
    { tau, alpha, beta },
    (p) => curve.Fr.toObject(curve.Fr.w[p]!),
    (g) => jobPoints ?? JOB_POINTS[g],
  );
  const all = [...before, ...after];

  const pointsIn = (g: 1 | 2): number => all.filter((s) => s.group === g).reduce((sum, s) => sum + pointsOf(s), 0);
  const pool = WorkerPool.forPoints(curve, { g1: pointsIn(1), g2: pointsIn(2) }, options.workers);
  const bar = progress(`dev ptau 2^${power} (NOT FOR PRODUCTION)`, pointsIn(1) + G2_COST * pointsIn(2), { log, bar: options.bar });
  let fh: FileHandle | undefined;
  try {
    const next = inOrder(
      pool,
      all.flatMap((s) => s.jobs.map((scalars) => ({ group: s.group, scalars, compressed: s.hashed, uncompressed: s.hashed }))),
      3 * pool.size,
    );
    fh = await open(file, "w");
    const write = async (b: Uint8Array): Promise<void> => {
      await fh!.write(b);
    };
    const q = new Uint8Array(32);
    for (let i = 0, v = curve.q; i < 32; i++, v >>= 8n) q[i] = Number(v & 0xffn);
    await write(concat([new TextEncoder().encode("ptau"), u32(1), u32(11)]));
    await write(concat([sectionHeader(1, 4 + 32 + 4 + 4), u32(32), q, u32(power), u32(power)]));

    // Sections 2-6, hashing their points as the beacon does: compressed into the response hash
    // (whose partial state the contribution stores), uncompressed into the next challenge.
    const response = new Blake2b512().update(challenge);
    const uncompressed: Uint8Array[] = [];
    const firstPoints = new Map<number, Uint8Array>();
    const writeSection = async (s: PointSection): Promise<void> => {
      await write(sectionHeader(s.id, pointsOf(s) * POINT_BYTES[s.group]));
      let pendingC: Uint8Array[] = [];
      let pendingPoints = 0;
      for (const job of s.jobs) {
        const res = await next();
        await write(res.lem);
        if (s.hashed) {
          if (!firstPoints.has(s.id)) firstPoints.set(s.id, res.lem.slice(0, 2 * POINT_BYTES[s.group]));
          pendingC.push(res.compressed!);
          pendingPoints += countOf(job);
          uncompressed.push(res.uncompressed!);
          if (pendingPoints === HASH_CHUNK_POINTS[s.group]) {
            response.update(concat(pendingC));
            pendingC = [];
            pendingPoints = 0;
          }
        }
        bar.add(countOf(job) * (s.group === 2 ? G2_COST : 1));
      }
      if (pendingPoints > 0) response.update(concat(pendingC));
    };
    for (const s of before) await writeSection(s);

    const partial = response.partialState();
    const pub = [key.tau.g1s, key.tau.g1sx, key.alpha.g1s, key.alpha.g1sx, key.beta.g1s, key.beta.g1sx];
    const pubG2 = [key.tau.g2spx, key.alpha.g2spx, key.beta.g2spx];
    response.update(concat([...pub.map((p) => curve.G1.toUncompressed(p)), ...pubG2.map((p) => curve.G2.toUncompressed(p))]));
    const nextChallenge = createHash("blake2b512").update(response.digest());
    for (const u of uncompressed) nextChallenge.update(u);
    const params = beaconParams(beacon);
    const point = (id: number, index: number): Uint8Array => {
      const size = id === 3 || id === 6 ? POINT_BYTES[2] : POINT_BYTES[1];
      return firstPoints.get(id)!.slice(index * size, (index + 1) * size);
    };
    const contribution = concat([
      u32(1), // one contribution
      point(2, 1),
      point(3, 1),
      point(4, 0),
      point(5, 0),
      point(6, 0), // tau G1, tau G2, alpha G1, beta G1, beta G2
      ...pub,
      ...pubG2, // the public key, as stored: affine Montgomery
      partial,
      nextChallenge.digest(),
      u32(1) /* type: beacon */,
      u32(params.length),
      params,
    ]);
    await write(concat([sectionHeader(7, contribution.length), contribution]));

    for (const s of after) await writeSection(s);
  } finally {
    bar.stop();
    await fh?.close();
    await pool.close();
    await curve.terminate();
  }
}
