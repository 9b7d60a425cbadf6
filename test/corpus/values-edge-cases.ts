// Less common values in locals across checkpoints: sparse arrays (holes stay holes), objects
// without a prototype, an invalid Date, strings with lone surrogates and NUL characters,
// nested collections, and an Error subclass instance held (not thrown) across a checkpoint.
import { checkpoint } from 'ppp2p';

class NotFound extends Error {
  override name = 'NotFound';
  constructor(readonly key: string) {
    super(`no ${key}`);
  }
}

export async function main(): Promise<unknown> {
  const sparse = [1, , 3];
  sparse.length = 5;
  const dict: Record<string, number> = Object.create(null) as Record<string, number>;
  dict['x'] = 1;
  const invalid = new Date(NaN);
  const odd = 'a\uD800b\u0000c\uDFFF';
  const nested = new Map<string, Set<number[]>>([['k', new Set([[1, 2], [3]])]]);
  const err = new NotFound('thing');
  await checkpoint();
  return {
    holes: Array.from({ length: sparse.length }, (_, i) => (i in sparse ? sparse[i] : 'hole')),
    dictProto: Object.getPrototypeOf(dict) === null,
    dictX: dict['x'],
    invalidDate: Number.isNaN(invalid.getTime()),
    oddCodes: Array.from({ length: odd.length }, (_, i) => odd.charCodeAt(i)),
    nested: [...(nested.get('k') ?? [])],
    err: { isNotFound: err instanceof NotFound, isError: err instanceof Error, name: err.name, message: err.message, key: err.key },
  };
}
