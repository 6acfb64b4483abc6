pragma circom 2.1.0;
// Demo configuration of the recommended production parameters: K_MAX = 8, CHUNK = 128, B = 8, BG = 24.
// Its constraint count (circom 2.2.3 --O2) is in the generated verifier's header; below 2^16, so a 2^16 powers of tau.
// verifier-when-cached: its verifier (contracts/verifiers/generated, used by `npm run demo`) is committed;
// `build.ts --check` regenerates it only when this dev setup is cached (minutes on 2 cores),
// otherwise it checks the sources hash recorded in the verifier's header.
include "../decision.circom";
component main {public [ctx, prevModel, newModel, accFinal, sealKey, reference, commitments, outcome]} = Decision(8, 128, 8, 24);
