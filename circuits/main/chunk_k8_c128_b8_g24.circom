pragma circom 2.1.0;
// Demo configuration of the recommended production parameters: K_MAX = 8, CHUNK = 128, B = 8, BG = 24.
// (Production: the same K_MAX, B, BG with CHUNK = 512, about 30 constraints per trainer-parameter with
// sealed updates, malformation claims and the padding mask, estimated; CHUNK = 128 keeps the setup within
// a 2^16 powers of tau: 41,790 constraints.)
// verifier-when-cached: its verifier (contracts/verifiers/generated, used by `npm run demo`) is committed;
// `build.ts --check` regenerates it only when this dev setup is cached (minutes on 2 cores),
// otherwise it checks the sources hash recorded in the verifier's header.
include "../chunk.circom";
component main {public [accIn, accOut]} = Chunk(8, 128, 8, 24);
