// throw through finally: the pending exception survives a checkpoint inside finally and is
// rethrown after it; a finally that throws replaces the pending exception.
import { checkpoint } from 'ppp2p';

async function failsThroughFinally(log: string[]): Promise<void> {
  try {
    await checkpoint();
    throw new RangeError('from try');
  } finally {
    log.push('finally 1 start');
    await checkpoint();
    log.push('finally 1 end');
  }
}

async function finallyReplaces(log: string[]): Promise<void> {
  try {
    throw new Error('original');
  } finally {
    await checkpoint();
    log.push('finally 2');
    throw new TypeError('replacement');
  }
}

async function plainValueThroughFinally(log: string[]): Promise<void> {
  try {
    throw { reason: 'plain', at: [1, 2] };
  } finally {
    await checkpoint();
    log.push('finally 3');
  }
}

export async function main(): Promise<unknown> {
  const log: string[] = [];
  for (const which of ['fails', 'replaces', 'plain']) {
    try {
      if (which === 'fails') await failsThroughFinally(log);
      else if (which === 'replaces') await finallyReplaces(log);
      else await plainValueThroughFinally(log);
      log.push('no throw');
    } catch (err) {
      await checkpoint();
      log.push(err instanceof Error ? `${err.name}: ${err.message}` : `non-error ${JSON.stringify(err)}`);
    }
  }
  return log;
}
