/**
 * The fairness benchmark's scenarios: what each of the 8 slots submits in a round.
 *
 * Issue 12 asks for: all-honest; norm inflation x1.1 / x1.5 / x3; a free rider replaying the last
 * global delta plus noise at cosine 0.95 / 0.9 / 0.8; Sybil copies (one trainer's update under
 * fresh salts, with sealed updates fresh ephemeral secrets, from 2 or 3 identities); lazy trainers
 * (10 % of their data, or a single batch); and
 * today's six attack modes (packages/testkit/src/attacks/attacks.ts, applied exactly as the
 * robustness benchmark applies them). Every transformation is seeded.
 *
 * Attackers are slots 2 and 5 (the robustness benchmark's default). A Sybil is trainer 2 (its own
 * data and training) submitting from slots 2 and 5 (and 7): those identities have no data of their
 * own, so its gain compares what all its identities earn with what trainer 2 earns when those
 * slots are empty (`sybil-<n>-baseline`: with the other slots holding real trainers, every share
 * would shrink and a perfectly Sybil-proof rule would still show a gain above 1).
 *
 * Beyond the issue's list: `leaked-reference`, the owner's own identities (docs/THREAT-MODEL.md row
 * 21's residual: the owner knows its reference `v` before the round closes and can tell whom it
 * likes), which submit `v` itself instead of training; `steer-victim-0` (row 24); and
 * `clip-lower-x<f>` (row 25): a coalition whose first identity sends its honest update shrunk by
 * `f`, to lower the median norm every larger update is clipped to, while the second sends its own.
 */
import { attackDelta, duplicateSubmission, gaussianNoise, l2Norm, scaleDelta, type AttackMode } from "../../attacks/attacks.ts";
import { quantizationParams, roundHalfAwayFromZero, type QuantizationRule } from "@fedmarket/core";
import { benchEphemeralSecret } from "../seal-keys.ts";

/** How a trainer trains this round (the training cache's key). */
export type TrainingVariant = "full" | "label-flip" | "lazy-10pct" | "lazy-1batch";

export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** Slots whose payouts are the attackers'. */
  readonly attackers: readonly number[];
  /** Slots whose all-honest payout is the gain's denominator (the same trainers behaving honestly). */
  readonly honestCounterparts: readonly number[];
  /** One of today's six attack modes (their detection and payout-share goals apply). */
  readonly legacyMode?: AttackMode;
  readonly kind: "honest" | "inflate" | "replay" | "sybil" | "lazy" | "legacy" | "leaked" | "steer" | "clip" | "baseline";
  /** Scenario whose payouts of `honestCounterparts` are the gain's denominator (default: all-honest). */
  readonly baseline?: string;
  /** Slots with no submission (baselines). */
  readonly emptySlots?: readonly number[];
  /** Inflation factor, replay cosine, leaked reference cosine, the clip-lowering identity's shrink factor. */
  readonly parameter?: number;
  /** Sybil identities, lazy variant. */
  readonly sybilSlots?: readonly number[];
  readonly lazyVariant?: TrainingVariant;
  /** Lazy: rescale the lazy delta to the norm of the trainer's honest delta (before quantization). */
  readonly rescaled?: boolean;
  /** Steer: the trainer whose next update the attackers push the global step against. */
  readonly victim?: number;
  /**
   * Leaked: what the owner's identities are told. Default `v`, its reference; `"update"` its own
   * update `w`; `"crafted"` a secret direction the owner builds its reference around
   * (`craftedReference`: the owner commits that reference, and `w` built the same way).
   */
  readonly leak?: "update" | "crafted";
}

export const DEFAULT_ATTACKERS: readonly number[] = [2, 5];

/** `crafted-reference`: the cosine of the owner's crafted reference with its honest one. */
export const CRAFTED_REFERENCE_GAMMA = 0.2;

/**
 * The owner's crafted reference of round `round` (scenario `crafted-reference`): a secret unit
 * direction `e` (seeded, orthogonal to `v`) and `v* = |v| (gamma v / |v| + sqrt(1 - gamma^2) e)`.
 * Deterministic, so that the identities (which send `e`) and the runner (which commits `v*`) agree.
 */
export function craftedReference(
  v: Float32Array,
  seed: number,
  round: number,
  gamma = CRAFTED_REFERENCE_GAMMA,
): { readonly reference: Float32Array; readonly secret: Float32Array } {
  const vv = l2Norm(v) ** 2;
  const noise = gaussianNoise(v.length, 1, seed * 7919 + round * 31 + 5);
  const along = vv === 0 ? 0 : noise.reduce((a, x, i) => a + x * (v[i] as number), 0) / vv;
  const e = Float32Array.from(noise, (x, i) => x - along * (v[i] as number));
  const en = l2Norm(e);
  const secret = e.map((x) => x / en);
  return { reference: craftAlong(v, secret, gamma), secret };
}

/** `|w| (gamma w / |w| + sqrt(1 - gamma^2) e)`: any owner vector bent towards the secret direction `e`. */
export function craftAlong(w: Float32Array, secret: Float32Array, gamma = CRAFTED_REFERENCE_GAMMA): Float32Array {
  const norm = l2Norm(w);
  const rest = Math.sqrt(1 - gamma * gamma);
  return Float32Array.from(w, (x, i) => (norm === 0 ? 0 : gamma * x + rest * norm * (secret[i] as number)));
}

/**
 * A noisy Sybil's copies each have this cosine with the real update, so two copies have about
 * its square (0.90) with each other: just under the candidates' near-duplicate threshold (0.95),
 * which exact copies (`sybil-N`) never test.
 */
export const NOISY_SYBIL_COSINE = 0.95;

/**
 * A leaked reference's identities each submit `v` with their own noise at this cosine: two of them
 * have about its square (0.81) with each other, below the near-duplicate threshold, so they are not
 * one cluster sharing one score.
 */
export const LEAKED_REFERENCE_COSINE = 0.9;

/** A steering attacker's norm, in units of its honest update's (the norm cap is 3 x the median). */
export const STEER_NORM = 2;

/** A steering attacker's weight on its own honest direction (orthogonal to the victim's), so that it stays aligned with `v`. */
export const STEER_OWN = 1.2;

/**
 * The clip-lowering identity's shrink factors: a quarter of its norm (below most honest norms, so the
 * median moves a whole rank), and a tenth (as far as it goes while the margin still aligns it with `v`).
 */
export const CLIP_LOWER_FACTORS: readonly number[] = [0.25, 0.1];

/** Every scenario of the issue, in output order. */
export function allScenarios(attackers: readonly number[] = DEFAULT_ATTACKERS): Scenario[] {
  const a = [...attackers];
  const sybil = (ids: number): Scenario[] => {
    const slots = [a[0] as number, ...[5, 7, 6, 4, 3].filter((s) => s !== a[0]).slice(0, ids - 1)];
    const baseline = `sybil-${ids}-baseline`;
    return [
      {
        name: baseline,
        kind: "baseline",
        emptySlots: slots.slice(1),
        attackers: [],
        honestCounterparts: [],
        description: `all honest, slots ${slots.slice(1).join(", ")} empty: what trainer ${a[0]} earns alone against the same competitors`,
      },
      {
        name: `sybil-${ids}`,
        kind: "sybil",
        sybilSlots: slots,
        attackers: slots,
        honestCounterparts: [a[0] as number],
        baseline,
        description: `trainer ${a[0]} submits its honest update from slots ${slots.join(", ")} sealed under fresh ephemeral secrets (distinct commitments); gain against ${baseline}`,
      },
    ];
  };
  return [
    { name: "honest", kind: "honest", attackers: [], honestCounterparts: [], description: "all 8 trainers honest" },
    {
      name: "attackers-absent",
      kind: "baseline",
      emptySlots: a,
      attackers: [],
      honestCounterparts: [],
      description: `slots ${a.join(", ")} submit nothing: the accuracy the honest trainers reach without the attackers' data`,
    },
    ...[1.1, 1.5, 3].map((x): Scenario => ({
      name: `inflate-x${x}`,
      kind: "inflate",
      parameter: x,
      attackers: a,
      honestCounterparts: a,
      description: `attackers multiply their honest delta by ${x} (then clip like every delta)`,
    })),
    ...[0.95, 0.9, 0.8].map((c): Scenario => ({
      name: `replay-cos${c}`,
      kind: "replay",
      parameter: c,
      attackers: a,
      honestCounterparts: a,
      description: `no training: the last global delta plus seeded noise orthogonal to it, cosine ${c} with it after quantization (zeros in round 0)`,
    })),
    ...sybil(2),
    ...sybil(3),
    ...[2, 3].map((ids): Scenario => {
      const slots = [a[0] as number, ...[5, 7, 6, 4, 3].filter((s) => s !== a[0]).slice(0, ids - 1)];
      return {
        name: `sybil-noisy-${ids}`,
        kind: "sybil",
        parameter: NOISY_SYBIL_COSINE,
        sybilSlots: slots,
        attackers: slots,
        honestCounterparts: [a[0] as number],
        baseline: `sybil-${ids}-baseline`,
        description: `trainer ${a[0]}'s honest update from slots ${slots.join(", ")}, each identity adding its own noise (cosine ${NOISY_SYBIL_COSINE} with the update, about ${(NOISY_SYBIL_COSINE ** 2).toFixed(2)} between identities: below the near-duplicate threshold 0.95); gain against sybil-${ids}-baseline`,
      };
    }),
    {
      name: "lazy-10pct",
      kind: "lazy",
      lazyVariant: "lazy-10pct",
      attackers: a,
      honestCounterparts: a,
      description: "attackers train on a fixed seeded 10 % of their data",
    },
    {
      name: "lazy-1batch",
      kind: "lazy",
      lazyVariant: "lazy-1batch",
      attackers: a,
      honestCounterparts: a,
      description: "attackers train on one batch (batchSize samples, one SGD step)",
    },
    {
      name: "lazy-1batch-rescaled",
      kind: "lazy",
      lazyVariant: "lazy-1batch",
      rescaled: true,
      attackers: a,
      honestCounterparts: a,
      description:
        "attackers take one SGD step on one batch and scale it to the norm of their honest delta (an attacker that knows its usual norm): laziness disguised by inflation, which no rule that sees only the updates' geometry can tell from honest work by its size",
    },
    {
      name: "leaked-reference",
      kind: "leaked",
      parameter: LEAKED_REFERENCE_COSINE,
      attackers: a,
      honestCounterparts: a,
      description: `the owner's identities, told the owner's reference v before the round closes: no training; v at the norm of the identity's honest delta plus seeded noise orthogonal to it, cosine ${LEAKED_REFERENCE_COSINE} with v after quantization (about ${(LEAKED_REFERENCE_COSINE ** 2).toFixed(2)} between identities: not near-duplicates)`,
    },
    {
      name: "leaked-update",
      kind: "leaked",
      leak: "update",
      parameter: LEAKED_REFERENCE_COSINE,
      attackers: a,
      honestCounterparts: a,
      description: `as leaked-reference with the owner's own update w (one epoch on its validation split from the round's model) in the place of v: the second vector a pay along the update would read, told to the owner's identities`,
    },
    {
      name: "crafted-reference",
      kind: "leaked",
      leak: "crafted",
      parameter: LEAKED_REFERENCE_COSINE,
      attackers: a,
      honestCounterparts: a,
      description: `the owner's identities and a reference built for them: the owner commits v* = |v| (${CRAFTED_REFERENCE_GAMMA} v / |v| + ${Math.sqrt(1 - CRAFTED_REFERENCE_GAMMA ** 2).toFixed(2)} e), e a secret unit direction orthogonal to its gradient v (and w* the same way from its update), so that honest updates keep about a fifth of their cosine with it (enough to pass the margin and be aggregated) while its identities send e at an honest norm, cosine ${LEAKED_REFERENCE_COSINE}: how much of the round can a reference move to the owner while the honest work is still used?`,
    },
    {
      name: "steer-victim-0",
      kind: "steer",
      victim: 0,
      parameter: STEER_NORM,
      attackers: a,
      honestCounterparts: a,
      description: `attackers that know trainer 0's update push the global step against it: each submits minus trainer 0's direction plus its own honest direction (orthogonalised, weight ${STEER_OWN}), at ${STEER_NORM} x its honest norm, so that trainer 0's next update may point against the last global delta (the rule variants that judge by it; docs/SCORING.md, twenty-first round). An upper bound on what the attackers know`,
    },
    ...CLIP_LOWER_FACTORS.map((f): Scenario => ({
      name: `clip-lower-x${f}`,
      kind: "clip",
      parameter: f,
      attackers: a,
      honestCounterparts: a,
      description: `slot ${a[0]} sends its honest delta times ${f} (still aligned with v: it lowers the median norm that every larger update is clipped to, at the cost of its own pay) and slot ${a[1]} its honest delta: does the coalition gain by making the others' updates count less?`,
    })),
    ...(["sign-flip", "scale", "gaussian", "label-flip", "free-rider", "duplicate"] as const).map((m): Scenario => ({
      name: m,
      kind: "legacy",
      legacyMode: m,
      attackers: a,
      honestCounterparts: a,
      description: `today's ${m} attack (attacks.ts)`,
    })),
  ];
}

/** One slot's submission before quantization (or already quantized). */
export interface SlotSubmission {
  /** Quantized update; `null` when the aggregator cannot open the slot (excluded). */
  readonly update: Int32Array | null;
  /**
   * The ephemeral secret the slot's update is sealed with (distinct per identity and round, so
   * identical updates get distinct commitments, as fresh random secrets do).
   */
  readonly ephemeralSecret: bigint;
  /** No submission at all (commitment 0). */
  readonly empty?: boolean;
}

export interface RoundContext {
  readonly scenario: Scenario;
  readonly slots: number;
  readonly seed: number;
  readonly round: number;
  /** Model parameters `D`. */
  readonly parameters: number;
  readonly quantization: QuantizationRule;
  readonly updateBits: number;
  /** The previous round's global delta in quantized units (`undefined` in round 0). */
  readonly lastGlobalDelta: Int32Array | undefined;
  /** Trains trainer `t` from the round's global model (cached by the caller). */
  readonly train: (trainer: number, variant: TrainingVariant) => Promise<Float32Array>;
  /** The owner's reference `v = -grad L_val` at the round's global model (weight units), as it will commit it. */
  readonly ownerReference: () => Float32Array;
  /** The owner's own update at the round's global model (weight units), when the runner trained it. */
  readonly ownerUpdate?: () => Float32Array;
}

/** Deterministic ephemeral secret of (seed, round, slot): distinct for every identity, like fresh random ones. */
export function slotEphemeralSecret(seed: number, round: number, slot: number): bigint {
  return benchEphemeralSecret(seed, round, slot);
}

/** What a leaked scenario's owner tells its identities this round: `v`, its own update, or a crafted reference's secret. */
function toldToIdentities(scenario: Scenario, ctx: RoundContext): Float32Array {
  switch (scenario.leak) {
    case "update":
      if (ctx.ownerUpdate === undefined) throw new Error(`${scenario.name} needs the owner's update, and the round has none`);
      return ctx.ownerUpdate();
    case "crafted":
      return craftedReference(ctx.ownerReference(), ctx.seed, ctx.round).secret;
    default:
      return ctx.ownerReference();
  }
}

/** What every slot submits this round. */
export async function roundSubmissions(ctx: RoundContext): Promise<SlotSubmission[]> {
  const { scenario, seed, round, quantization } = ctx;
  const quantize = (delta: Float32Array): Int32Array => quantizeFast(delta, quantization, ctx.updateBits);
  const attackSeed = (t: number): number => seed * 100_000 + round * 100 + t;
  const out: SlotSubmission[] = [];
  const isAttacker = (t: number): boolean => scenario.attackers.includes(t);
  // Leaked scenarios: what the owner tells its identities, the same for each of them (computed once).
  let told: Float32Array | undefined;
  for (let t = 0; t < ctx.slots; t++) {
    const ephemeralSecret = slotEphemeralSecret(seed, round, t);
    if (scenario.emptySlots?.includes(t) === true) {
      out.push({ update: null, ephemeralSecret, empty: true });
      continue;
    }
    if (!isAttacker(t)) {
      out.push({ update: quantize(await ctx.train(t, "full")), ephemeralSecret });
      continue;
    }
    switch (scenario.kind) {
      case "inflate": {
        const d = await ctx.train(t, "full");
        out.push({
          update: quantize(
            clip(
              d.map((x) => x * (scenario.parameter as number)),
              quantization.clipBound,
            ),
          ),
          ephemeralSecret,
        });
        break;
      }
      case "replay":
        out.push({
          update: noisyReplay(ctx.parameters, ctx.lastGlobalDelta, scenario.parameter as number, attackSeed(t), ctx.updateBits),
          ephemeralSecret,
        });
        break;
      case "sybil": {
        // Every identity submits the real trainer's update, each sealed under its own ephemeral secret;
        // a noisy Sybil adds its own noise orthogonal to the update (the replay's construction, with
        // the update in the place of the last global delta).
        const real = quantize(await ctx.train((scenario.sybilSlots as readonly number[])[0] as number, "full"));
        const update =
          scenario.parameter === undefined ? real : noisyReplay(ctx.parameters, real, scenario.parameter, attackSeed(t), ctx.updateBits);
        out.push({ update, ephemeralSecret });
        break;
      }
      case "lazy": {
        const lazy = await ctx.train(t, scenario.lazyVariant as TrainingVariant);
        // The rescaled variant only reads the honest delta's norm (a real attacker would know it from earlier rounds).
        const factor = scenario.rescaled === true ? l2Norm(await ctx.train(t, "full")) / l2Norm(lazy) : 1;
        out.push({ update: quantize(factor === 1 || !Number.isFinite(factor) ? lazy : scaleDelta(lazy, factor)), ephemeralSecret });
        break;
      }
      case "leaked": {
        // The honest delta is trained only for its norm: an identity the owner runs would know the size of an honest update.
        const norm = l2Norm(await ctx.train(t, "full"));
        told ??= toldToIdentities(scenario, ctx);
        const v = told;
        const cosine = scenario.parameter as number;
        // The noise adds norm at right angles: start from cosine x the norm so that the result has about the honest norm.
        const base = quantize(scaleDelta(v, (cosine * norm) / l2Norm(v)));
        out.push({ update: noisyReplay(ctx.parameters, base, cosine, attackSeed(t), ctx.updateBits), ephemeralSecret });
        break;
      }
      case "steer": {
        const own = await ctx.train(t, "full");
        const victim = await ctx.train(scenario.victim as number, "full");
        out.push({ update: quantize(clip(steered(own, victim, scenario.parameter as number), quantization.clipBound)), ephemeralSecret });
        break;
      }
      case "clip": {
        // Only the first identity shrinks; the others send their honest update.
        const d = await ctx.train(t, "full");
        out.push({ update: quantize(t === scenario.attackers[0] ? scaleDelta(d, scenario.parameter as number) : d), ephemeralSecret });
        break;
      }
      case "legacy": {
        const mode = scenario.legacyMode as AttackMode;
        if (mode === "duplicate") {
          // Copy the first earlier slot's commitment and CID, as the robustness benchmark does. The chain
          // refuses the copier's reveal: its sealed commitment binds its own address, fixed before the
          // victim revealed (RevealMismatch), and a commitment is revealed once (DuplicateCommitment;
          // test/FedMarket.attacks.test.ts). So the copier's slot reaches the decision empty, and the
          // victim's stays valid: a copy must not take the victim out (it did when this benchmark let
          // the copy through to the duplicate rule, which takes both slots out).
          const earlier = out.map((_, k) => ({ trainer: `trainer-${k}`, commitment: BigInt(k), cid: `cid-${k}` }));
          duplicateSubmission(earlier, `trainer-${t}`);
          out.push({ update: null, ephemeralSecret, empty: true });
          break;
        }
        let delta: Float32Array;
        if (mode === "free-rider") delta = new Float32Array(ctx.parameters);
        else delta = await ctx.train(t, mode === "label-flip" ? "label-flip" : "full");
        const lastFloat =
          ctx.lastGlobalDelta === undefined ? undefined : Float32Array.from(ctx.lastGlobalDelta, (q) => q / quantization.scale);
        delta = attackDelta(mode, delta, {
          seed: attackSeed(t),
          clipBound: quantization.clipBound,
          ...(lastFloat === undefined ? {} : { lastGlobalDelta: lastFloat }),
        });
        out.push({ update: quantize(delta), ephemeralSecret });
        break;
      }
      case "honest":
      case "baseline":
        throw new Error(`internal: scenario ${scenario.name} has no attackers`);
    }
  }
  return out;
}

/**
 * @fedmarket/core's `quantizeDelta` (clip, scale, round half away from zero) on plain numbers:
 * the same values (test/fairness-rules.test.ts checks it) without a BigInt per coordinate, which
 * was a tenth of the benchmark's time.
 */
export function quantizeFast(delta: Float32Array, rule: QuantizationRule, updateBits: number): Int32Array {
  const { scale, clipBound, bits } = quantizationParams(rule, updateBits);
  const limit = 2 ** (bits - 1);
  return Int32Array.from(delta, (x) => {
    if (!Number.isFinite(x)) throw new RangeError(`cannot quantize ${x}`);
    const q = roundHalfAwayFromZero(Math.min(clipBound, Math.max(-clipBound, x)) * scale);
    if (q < -limit || q >= limit) throw new RangeError(`quantized value ${q} does not fit ${bits} bits`);
    return q;
  });
}

/**
 * `norm x |own|` times the unit vector of `-victim/|victim| + STEER_OWN own_perp/|own_perp|`
 * (`own_perp` the part of `own` orthogonal to `victim`): against the victim's direction, with
 * enough of the attacker's own honest direction to stay aligned with the owner's reference.
 */
export function steered(own: Float32Array, victim: Float32Array, norm: number): Float32Array {
  let vv = 0;
  let ov = 0;
  let oo = 0;
  for (let i = 0; i < own.length; i++) {
    vv += (victim[i] as number) ** 2;
    ov += (own[i] as number) * (victim[i] as number);
    oo += (own[i] as number) ** 2;
  }
  if (vv === 0 || oo === 0) return own;
  const perp = Float64Array.from(own, (x, i) => x - (ov / vv) * (victim[i] as number));
  let pp = 0;
  for (const x of perp) pp += x * x;
  const dir = Float64Array.from(perp, (x, i) => -(victim[i] as number) / Math.sqrt(vv) + (pp === 0 ? 0 : (STEER_OWN * x) / Math.sqrt(pp)));
  let dd = 0;
  for (const x of dir) dd += x * x;
  const scale = (norm * Math.sqrt(oo)) / Math.sqrt(dd);
  return Float32Array.from(dir, (x) => x * scale);
}

function clip(delta: Float32Array, bound: number): Float32Array {
  return delta.map((x) => Math.min(bound, Math.max(-bound, x)));
}

/**
 * `lastGlobalDelta + eta * n` in quantized units, `n` seeded Gaussian noise made orthogonal to
 * the delta, `eta` found by bisection so that the cosine of the rounded result with the delta is
 * `cosine` (to ~1e-4). Zeros when there is no last delta yet (round 0) or it is zero.
 */
export function noisyReplay(
  parameters: number,
  lastGlobalDelta: Int32Array | undefined,
  cosine: number,
  seed: number,
  updateBits: number,
): Int32Array {
  if (!(cosine > 0 && cosine < 1)) throw new RangeError(`replay cosine ${cosine} must be in (0, 1)`);
  if (lastGlobalDelta === undefined) return new Int32Array(parameters);
  if (lastGlobalDelta.length !== parameters)
    throw new RangeError(`last global delta has ${lastGlobalDelta.length} values, expected ${parameters}`);
  const d = lastGlobalDelta;
  let dd = 0;
  for (const x of d) dd += x * x;
  if (dd === 0) return new Int32Array(d.length);
  const noise = gaussianNoise(d.length, 1, seed);
  let nd = 0;
  for (let i = 0; i < d.length; i++) nd += (noise[i] as number) * (d[i] as number);
  const n = Float64Array.from(noise, (x, i) => x - (nd / dd) * (d[i] as number));
  let nn = 0;
  for (const x of n) nn += x * x;
  const unit = n.map((x) => x / Math.sqrt(nn));
  const limit = 2 ** (updateBits - 1) - 1;
  const build = (eta: number): Int32Array =>
    Int32Array.from(d, (x, i) => Math.max(-limit, Math.min(limit, Math.round(x + eta * (unit[i] as number)))));
  const cos = (u: Int32Array): number => {
    let ud = 0,
      uu = 0;
    for (let i = 0; i < u.length; i++) {
      ud += (u[i] as number) * (d[i] as number);
      uu += (u[i] as number) ** 2;
    }
    return ud / Math.sqrt(uu * dd);
  };
  // cos decreases in eta; the unrounded answer is eta = |d| tan(acos(cosine)).
  let lo = 0,
    hi = 4 * Math.sqrt(dd) * Math.tan(Math.acos(cosine)) + 4 * Math.sqrt(d.length);
  for (let it = 0; it < 40; it++) {
    const mid = (lo + hi) / 2;
    if (cos(build(mid)) > cosine) lo = mid;
    else hi = mid;
  }
  return build((lo + hi) / 2);
}
