/**
 * The spec check: the history read holds the project's creation (`ProjectCreated`: its initial
 * model, `paramsHash` and chunk count, which the other checks start from), and the spec pinned at
 * `specCid` is a valid model spec that describes the project on chain: its model size, scale and
 * clip bound, and a circuit configuration the project's verifier was generated for
 * (@fedmarket/protocol `checkSpecAgainstChain`). A spec that freezes layers names their weights by
 * CID: those must be fetchable and fit the frozen layers, or no trainer can train (and no accuracy
 * can be measured).
 */
import type { AuditContext } from "../context.ts";
import { cannotFetch, failure, type Finding } from "../findings.ts";

export async function checkSpec(ctx: AuditContext): Promise<Finding[]> {
  const findings: Finding[] = [];
  const { history } = ctx;
  if (history.created === undefined) {
    findings.push(
      failure(
        "spec",
        `project ${ctx.projectId}: no ProjectCreated event at or after block ${history.fromBlock} (pass an earlier --from-block)`,
      ),
    );
  }
  const spec = await ctx.spec();
  if (!spec.ok) {
    const cid = ctx.project.specCid;
    const { kind, detail } = spec.problem;
    findings.push(failure("spec", kind === "unfetchable" ? cannotFetch("model spec", cid, detail) : `model spec ${cid}: ${detail}`));
  } else if (!spec.frozen.ok) {
    const cid = spec.spec.frozenWeights ?? "?";
    const { kind, detail } = spec.frozen.problem;
    findings.push(
      failure(
        "spec",
        kind === "unfetchable" ? cannotFetch("frozen layers' weights", cid, detail) : `frozen layers' weights ${cid}: ${detail}`,
      ),
    );
  }
  return findings;
}
