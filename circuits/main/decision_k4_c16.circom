pragma circom 2.1.0;
// Test configuration: K_MAX = 4, CHUNK = 16, B = 16, BG = 32.
// Its constraint count (circom 2.2.3 --O2) is in the generated verifier's header; below 2^15, so a 2^15 powers of tau.
include "../decision.circom";
component main {public [ctx, prevModel, newModel, accFinal, sealKey, reference, commitments, outcome]} = Decision(4, 16, 16, 32);
