pragma circom 2.1.0;
// Test configuration: K_MAX = 4, CHUNK = 16, B = 16, BG = 32.
include "../chunk.circom";
component main {public [accIn, accOut]} = Chunk(4, 16, 16, 32);
