/**
 * How the aggregator reports the progress of its long operations at info level (so that a plain
 * log, not only a terminal's progress bar, shows it): durations for people, and the remaining time
 * of a batch of proofs estimated from the time the proofs made so far took.
 */

/** `42 s`, `3 min 05 s`. */
export function formatSeconds(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/**
 * The remaining wall time of a batch of proofs: the mean time of the `made` proofs of this run so
 * far (`provedMs`, each proof's own time in its worker) times the `left` ones, shared by `workers`
 * proving in parallel. Undefined before the first proof.
 */
export function etaMs(o: {
  readonly provedMs: number;
  readonly made: number;
  readonly left: number;
  readonly workers: number;
}): number | undefined {
  if (o.made <= 0) return undefined;
  return Math.round(((o.provedMs / o.made) * Math.max(0, o.left)) / Math.max(1, o.workers));
}

/** `proof 3/9 (chunk 2) in 2.9 s; ETA 17 s`: one line per proof, `done` counting the reused ones. */
export function proofProgressLine(o: {
  readonly done: number;
  readonly total: number;
  readonly what: string;
  readonly proofMs: number;
  readonly etaMs: number | undefined;
}): string {
  const eta = o.done >= o.total ? "all made" : o.etaMs === undefined ? "ETA unknown" : `ETA ${formatSeconds(o.etaMs)}`;
  return `proof ${o.done}/${o.total} (${o.what}) in ${(o.proofMs / 1000).toFixed(1)} s; ${eta}`;
}
