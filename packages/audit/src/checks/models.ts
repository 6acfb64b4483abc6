/**
 * The models check: every model commitment the chain recorded (the initial one, each finalized
 * round's) is that of the model pinned at its CID, fetched (the store re-derives the CID),
 * decoded for the spec, quantized with it and committed; each round opened on the model the
 * previous one recorded, and the project's current model is the last recorded one. With a
 * validation set it also measures every model's accuracy (for the report's chart): a model that
 * cannot be evaluated is a warning, never a failure.
 */
import { checkModelHeadroom } from "@fedmarket/core";
import { quantizeModel } from "@fedmarket/protocol";
import type { AuditContext } from "../context.ts";
import { cannotFetch, failure, info, warning, type Finding, type FindingPlace } from "../findings.ts";

/** The findings about the model recorded as `commitment` at `cid` (`what` names it in messages). */
async function recordedModel(ctx: AuditContext, cid: string, commitment: bigint, what: string, at: FindingPlace): Promise<Finding[]> {
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
      if (model.commitment !== commitment) {
        findings.push(
          failure("models", `${what}: the model pinned at ${cid} commits to ${model.commitment}, the chain recorded ${commitment}`, at),
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
    const q = quantizeModel(model.weights, spec.spec.quantization.scale, spec.circuit.modelBits);
    checkModelHeadroom(q, ctx.project.numRounds, spec.circuit);
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
    findings.push(...(await recordedModel(ctx, created.initialModelCid, created.initialModelCommitment, "initial model", {})));
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
    findings.push(...(await recordedModel(ctx, r.end.newModelCid, r.end.newModelCommitment, `round ${round} model`, { round })));
    last = r.end.newModelCommitment;
  }
  if (last !== undefined && last !== project.modelCommitment) {
    findings.push(
      failure("models", `project: the current model commitment ${project.modelCommitment} is not the last recorded one (${last})`),
    );
  }
  return findings;
}
