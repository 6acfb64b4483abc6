pragma circom 2.1.0;
// Demo configuration of the recommended production parameters: K_MAX = 8, CHUNK = 128, B = 8, BG = 24.
// no-verifier: measured only (scripts/bench-circuit.ts); build.ts skips it unless named explicitly.
include "../decision.circom";
component main {public [ctx, prevModel, newModel, accFinal, commitments, outcome]} = Decision(8, 128, 8, 24);
