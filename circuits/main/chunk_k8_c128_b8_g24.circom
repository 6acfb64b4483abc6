pragma circom 2.1.0;
// Demo configuration of the recommended production parameters: K_MAX = 8, CHUNK = 128, B = 8, BG = 24.
// (Production: the same K_MAX, B, BG with CHUNK = 512, 24.7 constraints per trainer-parameter;
// CHUNK = 128 keeps the setup within a 2^15 powers of tau: 31,154 constraints.)
// no-verifier: measured only (scripts/bench-circuit.ts); build.ts skips it unless named explicitly.
include "../chunk.circom";
component main {public [accIn, accOut]} = Chunk(8, 128, 8, 24);
