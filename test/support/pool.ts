/** A tiny concurrency limiter: the tests run real worker threads and the machine has two cores. */
export function limit(concurrency: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  const next = (): void => {
    if (active >= concurrency) return;
    const start = queue.shift();
    if (start === undefined) return;
    active++;
    start();
  };
  return <T>(job: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolvePromise, reject) => {
      queue.push(() => {
        job()
          .then(resolvePromise, reject)
          .finally(() => {
            active--;
            next();
          });
      });
      next();
    });
}

/** What a run produced, in a form that compares by value: a JSON result or an error's name and message. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: string };

export async function outcomeOf(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    const value = await run();
    return { ok: true, value: JSON.parse(JSON.stringify(value ?? null)) as unknown };
  } catch (err) {
    return { ok: false, error: describeError(err) };
  }
}

/** `Name: message`, using the thread's own error name for errors carried out of a worker. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const remote = (err as { remoteName?: unknown }).remoteName;
    return `${typeof remote === 'string' ? remote : err.name}: ${err.message}`;
  }
  return `non-error thrown: ${String(err)}`;
}
