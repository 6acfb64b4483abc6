/**
 * The models check: every model commitment the chain recorded (the initial one, each finalized
 * round's) is that of the model pinned at its CID, fetched (the store re-derives the CID),
 * decoded for the spec, quantized with it and committed with its step (core `modelCommitment`: the
 * model minus the one it replaced, the model its round opened on; zero for the initial model); each round opened on the model the
 * previous one recorded, and the project's current model is the last recorded one. With a
 * validation set it also measures every model's accuracy (for the report's chart): a model that
 * cannot be evaluated is a warning, never a failure.
 */
import { checkModelHeadroom } from "@fedmarket/core";
import type { AuditContext } from "../context.ts";
import { cannotFetch, failure, info, warning, type Finding, type FindingPlace } from "../findings.ts";

/**
 * The findings about the model recorded as `commitment` at `cid` (`what` names it in messages),
 * which replaced the model at `replaced` (`null`: the initial model).
 */
async function recordedModel(
  ctx: AuditContext,
  recorded: { readonly cid: string; readonly commitment: bigint; readonly replaced: string | null },
  what: string,
  at: FindingPlace,
): Promise<Finding[]> {
  const { cid, commitment } = recorded;
  const model = await ctx.model(cid);
  switch (model.kind) {
    case "unfetchable":
      return [failure("models", cannotFetch(what, cid, model.detail), at)];
    case "invalid":
      return [failure("models", `${what}: the model pinned at ${cid} is not a valid weights file for the spec: ${model.detail}`, at)];
    case "unchecked":
      return [];
    case "read": {
      const findings: Finding[] = [];
      const made = await ctx.modelCommitment(cid, recorded.replaced);
      if (made?.ok === false) findings.push(failure("models", `${what}: its commitment cannot be checked: ${made.detail}`, at));
      else if (made !== undefined && made.commitment !== commitment) {
        findings.push(
          failure("models", `${what}: the model pinned at ${cid} commits to ${made.commitment}, the chain recorded ${commitment}`, at),
        );
      }
      const accuracy = await ctx.accuracy(cid);
      if (accuracy?.ok === false) findings.push(warning("models", `accuracy: ${accuracy.detail}`, at));
      return findings;
    }
  }
}

/**
 * The model's headroom (core `checkModelHeadroom`): the chunk proofs add each round's step to the packed
 * model without range-checking it, which is exact only while the initial model keeps within BG - 1 bits
 * and the project within `maxRounds` rounds (the market checks the latter at creation).
 */
async function initialHeadroom(ctx: AuditContext, cid: string): Promise<Finding[]> {
  const model = await ctx.model(cid);
  const spec = await ctx.spec();
  if (model.kind !== "read" || !spec.ok) return [];
  try {
    checkModelHeadroom(model.quantized, ctx.project.numRounds, spec.circuit);
    return [];
  } catch (err) {
    return [failure("models", `initial model: outside the model's headroom, a round may not be provable: ${(err as Error).message}`)];
  }
}

export async function checkModels(ctx: AuditContext): Promise<Finding[]> {
  const { history, project } = ctx;
  const created = history.created;
  const findings: Finding[] = [];
  if (!(await ctx.spec()).ok) findings.push(info("models", "no usable spec: models are downloaded but not decoded or committed"));
  if (created === undefined) findings.push(info("models", "no ProjectCreated event in the history read: the initial model is unknown"));
  else {
    const initial = { cid: created.initialModelCid, commitment: created.initialModelCommitment, replaced: null };
    findings.push(...(await recordedModel(ctx, initial, "initial model", {})));
    findings.push(...(await initialHeadroom(ctx, created.initialModelCid)));
  }
  // The model each round must open on: the last one recorded before it.
  let last = created?.initialModelCommitment;
  for (const r of history.rounds) {
    const round = r.round;
    if (r.opened !== undefined && last !== undefined && r.opened.modelCommitment !== last) {
      findings.push(
        failure("models", `round ${round}: opened on model ${r.opened.modelCommitment}, but the last recorded model is ${last}`, { round }),
      );
    }
    if (r.end?.kind !== "finalized") continue;
    last = r.end.newModelCommitment;
    // Its step is from the model its round opened on, which the RoundOpened names.
    if (r.opened === undefined) {
      findings.push(
        info("models", `round ${round} model: the history lacks the round's RoundOpened, so its step is unknown: not checked`, { round }),
      );
      continue;
    }
    const recorded = { cid: r.end.newModelCid, commitment: r.end.newModelCommitment, replaced: r.opened.modelCid };
    findings.push(...(await recordedModel(ctx, recorded, `round ${round} model`, { round })));
  }
  if (last !== undefined && last !== project.modelCommitment) {
    findings.push(
      failure("models", `project: the current model commitment ${project.modelCommitment} is not the last recorded one (${last})`),
    );
  }
  return findings;
}
