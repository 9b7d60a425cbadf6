// return through finally: the pending return value survives a checkpoint inside finally; a
// finally that returns overrides it; a return inside try after a checkpoint.
import { checkpoint } from 'ppp2p';

async function returnsThroughFinally(log: string[]): Promise<string> {
  let value = 'initial';
  try {
    value = 'from try';
    await checkpoint();
    return value;
  } finally {
    value = 'changed in finally';
    log.push('finally A');
    await checkpoint();
    log.push(`finally A saw ${value}`);
  }
}

async function finallyOverrides(log: string[]): Promise<string> {
  try {
    await checkpoint();
    return 'try value';
  } finally {
    await checkpoint();
    log.push('finally B');
    return 'finally value';
  }
}

async function returnInLoopThroughFinally(log: string[]): Promise<number> {
  for (let i = 0; i < 10; i++) {
    try {
      if (i === 2) return i * 100;
    } finally {
      log.push(`finally C ${i}`);
      await checkpoint();
    }
  }
  return -1;
}

export async function main(): Promise<unknown> {
  const log: string[] = [];
  const a = await returnsThroughFinally(log);
  const b = await finallyOverrides(log);
  const c = await returnInLoopThroughFinally(log);
  return { a, b, c, log };
}
