/**
 * Frames: the serializable form of a suspended checkpointable function.
 *
 * `ppp2p build` turns every checkpointable function (one that calls `checkpoint()` or awaits a
 * checkpointable function) into a pair: a frame class declared next to it, and the function
 * itself rewritten so that it *runs on plain JavaScript locals* and copies them into its frame
 * only at a suspension site. Hot code therefore pays nothing for mobility between sites.
 *
 * The emitted shape (the contract between the preprocessor and this runtime):
 *
 * ```js
 * import * as $rt from 'ppp2p/runtime';
 * class island$Frame extends $rt.Frame {
 *   static id = 'samples/tsp/island.ts#island';        // module path + qualified name: stable
 *   static layout = '3f9a…';                           // hash of the original function's text
 *   static fields = ['seed', 'gens', 'g', 'best'];     // frame fields, in encoding order
 *   static sites = [0, 14, 22];                        // pc -> 1-based source line of that site
 *   static fn;                                          // set below: the rewritten function
 * }
 * export async function island(seed, gens) {
 *   const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(island$Frame);
 *   let $pc = $f.pc;                                   // 0: fresh call; k: resuming to site k
 *   let best;                                          // function-level locals
 *   if ($pc !== 0) { seed = $f.seed; gens = $f.gens; best = $f.best; }
 *   for (let g = $pc === 0 ? 0 : $f.g; $pc !== 0 || g < gens; g++) {
 *     if ($pc === 0) { ...statements without a site, unchanged... }
 *     // site 2: `await checkpoint()`
 *     if ($pc === 2) { $pc = 0; }
 *     else if ($t.due()) { $f.pc = 2; $f.seed = seed; $f.gens = gens; $f.g = g; $f.best = best; await $t.snapshot($d); }
 *     // site 1: `best = await evolve(best)` where evolve is checkpointable
 *     if ($pc === 1) { $pc = 0; $t.depth = $d + 1; best = await $t.resumeCall(); }
 *     else { $t.depth = $d + 1; $f.pc = 1; ...spill...; best = await $t.called(evolve(best)); }
 *   }
 *   return best;
 * }
 * island$Frame.fn = island; $rt.registerFrame(island$Frame);
 * ```
 *
 * Invariants:
 * - `$t.stack[d]` is the frame of the function running at call depth `d`. A call site announces
 *   the callee's depth, `$t.depth = $d + 1`, right before calling (the resume branch too: a
 *   resumed callee must not register its frame at its caller's depth); the callee reads it into
 *   `$d` and `enter` consumes it (`$t.depth = -1`). `$t.called(p)` runs when the callee has
 *   returned its promise and withdraws an announcement that no `enter` consumed (the call site's
 *   callee was not transformed after all: sites on calls the checker cannot resolve are chosen by
 *   name). So an exception that skipped a callee's exit can never leave the depth wrong at the next
 *   site, and a transformed function entered with nothing announced was called from somewhere that
 *   is not a site: in an attached thread `enter` throws a CheckpointError naming it and the line of
 *   the call (its frame would otherwise overwrite its caller's and a snapshot would resume the
 *   wrong code). Thread entry (`run`, `resume`) announces depth 0; detached code runs at depth 0.
 * - At a call site the caller spills its live locals *before* the call: while it is suspended in
 *   `await callee()` its locals cannot change, so a snapshot taken anywhere below sees them.
 * - On resume the runtime hands out the decoded frames in order: `enter` returns the next one
 *   (checked against the expected class), and `resumeCall` invokes the function that owns the next
 *   frame, with `this` restored from the frame's `self` field. Arguments are not re-evaluated.
 */

/** Base class of every emitted frame class. Fields beyond `pc` are declared by the subclass. */
export class Frame {
  /** Program counter: 0 while running between sites, k when suspended at site k. */
  pc = 0;
  [field: string]: unknown;
}

/** What a frame class carries besides its instance fields. */
export interface FrameClass {
  new (): Frame;
  /** Stable id: module path relative to the build root, `#`, qualified function name. */
  readonly id: string;
  /** Hash of the function's source text: a snapshot only restores into identical code. */
  readonly layout: string;
  /** Names of the frame fields in encoding order (parameters, locals, temporaries, `self`). */
  readonly fields: readonly string[];
  /** Source line (1-based) of each site, indexed by pc; used in error messages. */
  readonly sites: readonly number[];
  /** Source file of the function, relative to the build root. */
  readonly file?: string;
  /** The rewritten function; called with `this = frame.self` to resume it. */
  fn: (...args: never[]) => Promise<unknown>;
}

const frameClasses = new Map<string, FrameClass>();

/** Makes a frame class restorable by id. Emitted once per checkpointable function. */
export function registerFrame(cls: FrameClass): void {
  const existing = frameClasses.get(cls.id);
  if (existing !== undefined && existing !== cls && existing.layout !== cls.layout) {
    throw new Error(
      `Two different functions claim frame id '${cls.id}'. ` +
        'Rebuild with `ppp2p build` so that every module of the thread comes from one build.',
    );
  }
  frameClasses.set(cls.id, cls);
}

/** @internal The registered frame class for an id, if its module has been loaded. */
export function frameClassById(id: string): FrameClass | undefined {
  return frameClasses.get(id);
}

/** @internal Whether a constructor is an emitted frame class. */
export function isFrameClass(ctor: unknown): ctor is FrameClass {
  return typeof ctor === 'function' && (ctor as Partial<FrameClass>).id !== undefined && ctor.prototype instanceof Frame;
}
