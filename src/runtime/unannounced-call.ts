/**
 * The error of a checkpointable function entered by a call that `ppp2p build` did not see as a
 * call site (see the invariants in frame.ts). Such a function would take its caller's depth and
 * overwrite its caller's frame, so that a snapshot would resume the wrong code: the thread fails
 * instead, naming the function and, from the JavaScript stack, the line of the call (mapped back
 * to the TypeScript source through the build's source map when there is one).
 *
 * Only the error path runs any of this: `ThreadContext.enter` calls it after its cheap check failed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointError } from './errors.ts';
import type { FrameClass } from './frame.ts';

/**
 * @param cls the frame class of the function being entered
 * @param enter the function the stack trace starts below (`ThreadContext.prototype.enter`)
 */
export function unannouncedCallError(cls: FrameClass, enter: (...args: never[]) => unknown): CheckpointError {
  const probe: { stack?: string } = {};
  Error.captureStackTrace(probe, enter);
  // Frames below `enter`: the entered function, then the code that called it.
  const frames = (probe.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
  const caller = frames[1] === undefined ? undefined : sourceLocation(frames[1]);
  const fn = cls.id.slice(cls.id.indexOf('#') + 1);
  return new CheckpointError(
    `${fn}() (${cls.file ?? cls.id}) can checkpoint, but it was called${caller === undefined ? '' : ` at ${caller}`} by a call that ` +
      '`ppp2p build` did not recognize as a call of a checkpointable function, so its frame would take the place of its caller\'s ' +
      'and a resumed thread would continue in the wrong code. Fix: at that call, `await` it by its own name with a declared type ' +
      'that names its class or function (`await obj.method()` where `obj: TheClass`, or `await fn()`), not through `any`, a structural ' +
      'type, a function-typed variable or `.call`/`.apply`; then rebuild.',
  );
}

/** `file:line` of one V8 stack line, in the TypeScript source when the emitted file has a source map. */
function sourceLocation(stackLine: string): string | undefined {
  const m = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)\)?\s*$/.exec(stackLine);
  if (m === null) return undefined;
  const [, where, line, column] = m as unknown as [string, string, string, string];
  const file = where.startsWith('file://') ? fileURLToPath(where) : where;
  try {
    const mapFile = `${file}.map`;
    if (file.endsWith('.js') && existsSync(mapFile)) {
      const payload = JSON.parse(readFileSync(mapFile, 'utf8')) as SourceMapPayload;
      const entry = new SourceMap(payload).findEntry(Number(line) - 1, Number(column) - 1) as {
        originalSource?: string;
        originalLine?: number;
      };
      if (entry.originalSource !== undefined && entry.originalLine !== undefined) {
        const source = entry.originalSource.startsWith('file://')
          ? fileURLToPath(entry.originalSource)
          : resolve(dirname(mapFile), (payload.sourceRoot as string | undefined) ?? '', entry.originalSource);
        return `${display(source)}:${entry.originalLine + 1}`;
      }
    }
  } catch {
    // No usable source map: the emitted location is still a location.
  }
  return `${display(file)}:${line}`;
}

function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || rel === '' ? file : rel;
}
