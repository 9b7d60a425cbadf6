/**
 * Which built module and export name a function came from, so that `vc.spawn(fn)` can ship the
 * function's code to a worker and name it there. `ppp2p build` emits, after every exported function
 * of a built module, `$rt.registerExport(fn, import.meta.url, 'name')`.
 *
 * The table lives on `globalThis` under a registered symbol: an application that ends up with two
 * copies of the runtime (two installs of the package) still sees one table.
 */

/** Where an exported thread function lives. */
export interface ExportLocation {
  /** `import.meta.url` of the built module that exports the function. */
  readonly moduleUrl: string;
  readonly exportName: string;
}

const key = Symbol.for('ppp2p.exports-registry');
type Registry = WeakMap<object, ExportLocation>;
const holder = globalThis as typeof globalThis & { [key]?: Registry };
const registry: Registry = (holder[key] ??= new WeakMap());

/** Records that `fn` is exported as `exportName` by the module at `moduleUrl`. Emitted by `ppp2p build`. */
export function registerExport(fn: (...args: never[]) => unknown, moduleUrl: string, exportName: string): void {
  if (typeof fn !== 'function') {
    throw new TypeError(`registerExport: '${exportName}' of ${moduleUrl} is not a function`);
  }
  registry.set(fn, { moduleUrl, exportName });
}

/** Where `fn` was exported from, or undefined if no built module registered it. */
export function lookupExport(fn: unknown): ExportLocation | undefined {
  return typeof fn === 'function' ? registry.get(fn) : undefined;
}
