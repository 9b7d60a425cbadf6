// expect: PPP2P1007 line 8
// `with` in a checkpointable function. Note: every ES module is strict code and `with` is also
// banned in async functions, so TypeScript itself reports TS1101/TS1300/TS2410 here; the build
// must still reject it with a single PPP2P1007 diagnostic that says so.
import { checkpoint } from 'ppp2p';
export async function main(scope: { a: number }): Promise<number> {
  await checkpoint();
  with (scope) { return a; }
}
