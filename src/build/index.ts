/**
 * The ppp2p preprocessor: `ppp2p build` rewrites every function that can reach a checkpoint into
 * a serializable frame class with an explicit program counter (shape: src/runtime/frame.ts).
 *
 * ```ts
 * import { buildProject, formatDiagnostic } from 'ppp2p/build';
 * const { diagnostics, emitted } = buildProject({ rootDir: 'src', outDir: 'dist' });
 * for (const d of diagnostics) console.error(formatDiagnostic(d));   // nothing written if any
 * ```
 *
 * Passes: analysis.ts (which functions are checkpointable, which awaits are sites), rejections.ts
 * (unsupported constructs, PPP2P1001-1013), then the `before` transformer (transformer.ts,
 * emit-function.ts) lowering statements (statements.ts, loops.ts, switch.ts, try-statement.ts)
 * and expressions (linearize.ts, optional-chains.ts, destructuring.ts) around sites.
 *
 * Semantics a user can observe, beyond "the same result, natively and after a migration":
 * - Checkpointable functions are module-level function declarations, methods of module-level
 *   classes and module-level `const f = async (...) => ...` (or `async function`) declarations;
 *   one nested anywhere else is rejected. An awaited call is a site when the type checker resolves
 *   it to one (directly, through imports, `const` aliases, base methods and interface members the
 *   class `implements`), and also, by name, when the checker cannot tie it to an implementation
 *   (an `any` or structural receiver, an interface member, a function-typed variable, parameter
 *   or property) and its name is that of a checkpointable function or method of the build: such
 *   a call costs a spill and makes its function checkpointable. A checkpointable function reached
 *   any other way (a function-typed value under another name, `.call`, a computed key) fails the
 *   thread when entered, with a CheckpointError naming it and the line of the call (passing one as
 *   an argument is rejected at build time, PPP2P1001). Not caught: a by-name site whose callee is
 *   plain code that itself reaches a transformed function that way before its first `await`.
 * - Instances of classes with #private members are refused at a checkpoint (a restored instance
 *   would have no #private brand): the thread fails naming the variable; use `private` fields.
 * - Every local in scope at a site (declared before it) is saved, live or not; closures in `const`
 *   declarations, nested function and class declarations are not saved but re-created on resume.
 * - A for-of whose body checkpoints iterates arrays and typed arrays by index (live length), Map
 *   and Set live, strings by code point; other iterables (generators, `map.keys()`) are first copied
 *   into an array, so a generator runs to its end before the first iteration. for-in copies the
 *   keys at entry and skips keys deleted since. A `for` header with sites gives its `let` bindings
 *   one copy for all iterations instead of one per iteration.
 * - Array destructuring with sites in its defaults copies the whole iterable first.
 * - `o.m(await f())` looks `o.m` up after the arguments (JavaScript looks it up before), and a
 *   callee that is a plain name is read after the arguments: a function cannot be saved.
 * - A static method resumes with `this` = its class (a subclass receiver is not saved).
 * - Module-level variables are not part of a snapshot.
 * Type errors do not stop a build (`tsc --noEmit` is the place for them); syntax errors do.
 * @packageDocumentation
 */
export { buildProject, type BuildOptions, type BuildResult } from './build.ts';
export { formatDiagnostic, RULES, type BuildDiagnostic, type DiagnosticCode } from './diagnostics.ts';
