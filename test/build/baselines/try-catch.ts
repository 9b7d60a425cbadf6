// try/catch with sites in the try block and in the catch block (resume through a sentinel throw).
import { checkpoint } from 'ppp2p';

export async function guarded(fail: boolean): Promise<string> {
  try {
    await checkpoint();
    if (fail) throw new Error('failed');
    return 'ok';
  } catch (err) {
    await checkpoint();
    return (err as Error).message;
  }
}
