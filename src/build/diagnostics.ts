/**
 * Build diagnostics: every rejection `ppp2p build` can report, with its stable code and fix hint.
 *
 * Codes are part of the contract (tests and users grep for them), so a code is never reused for a
 * different rule. PPP2P0xxx are problems with the input as TypeScript, PPP2P1xxx are constructs
 * that checkpointable code cannot use.
 */
import path from 'node:path';
import ts from 'typescript';

export interface BuildDiagnostic {
  /** Absolute path of the source file. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** `PPP2P####`. */
  code: string;
  message: string;
  hint: string;
}

interface Rule {
  message: string;
  hint: string;
}

/** The rule behind each code; `message` may be refined per occurrence, `hint` never changes. */
export const RULES = {
  PPP2P0001: {
    message: 'TypeScript syntax error',
    hint: 'fix the syntax error; `npx tsc --noEmit` shows the same message',
  },
  PPP2P0002: {
    message: 'cannot read the source file',
    hint: 'check that the file exists and is readable',
  },
  PPP2P0003: {
    message: 'internal error of ppp2p build while transforming this function',
    hint: 'please report it with the function; meanwhile, moving the checkpointable calls into their own statements may avoid it',
  },
  PPP2P1001: {
    message: 'checkpoint reached through a callback handed to other code',
    hint: 'use a for loop in the checkpointable function instead of a callback (forEach, map, setTimeout, then, ...)',
  },
  PPP2P1002: {
    message: 'checkpoint inside a constructor',
    hint: 'move the checkpointing work into an async method or function and call it after construction',
  },
  PPP2P1003: {
    message: 'checkpoint inside a getter or setter',
    hint: 'turn the accessor into an async method',
  },
  PPP2P1004: {
    message: 'checkpoint inside a field initializer or static block',
    hint: 'move the checkpointing work into an async method or a module-level async function',
  },
  PPP2P1005: {
    message: 'checkpoint inside a generator',
    hint: 'rewrite the generator as an async function that returns (or processes) its values in a loop',
  },
  PPP2P1006: {
    message: 'eval in a checkpointable function',
    hint: 'remove eval: code it creates cannot be checkpointed',
  },
  PPP2P1007: {
    message: '`with` statement in a checkpointable function',
    hint: 'replace `with (obj)` by explicit `obj.` property accesses',
  },
  PPP2P1008: {
    message: 'checkpointable call not directly awaited',
    hint: 'write `await f(...)` at the call; run concurrent work in separate threads (vc.spawn) instead of Promise.all',
  },
  PPP2P1009: {
    message: 'a nested function cannot contain a checkpoint',
    hint: 'move it to module level as an async function declaration or make it a class method, and await it directly',
  },
  PPP2P1010: {
    message: '`arguments` used in a checkpointable function',
    hint: 'declare a rest parameter (`...args`) instead',
  },
  PPP2P1011: {
    message: 'checkpoint inside a for-await loop',
    hint: 'collect the values first, or read them one at a time with `await it.next()` in a while loop',
  },
  PPP2P1012: {
    message: '`checkpoint()` not awaited',
    hint: 'write `await checkpoint()`',
  },
  PPP2P1013: {
    message: 'construct not supported around a checkpoint',
    hint: 'move the checkpointable call into its own statement (`const v = await f(...)`) and use `v`',
  },
} as const satisfies Record<string, Rule>;

export type DiagnosticCode = keyof typeof RULES;

/** A diagnostic at `node`; `detail` is appended to the rule's message. */
export function diagnosticAt(node: ts.Node, code: DiagnosticCode, detail?: string): BuildDiagnostic {
  const sf = node.getSourceFile();
  const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
  const rule = RULES[code];
  return {
    file: sf.fileName,
    line: line + 1,
    column: character + 1,
    code,
    message: detail === undefined ? rule.message : `${rule.message}: ${detail}`,
    hint: rule.hint,
  };
}

/** A TypeScript diagnostic as a PPP2P0001. */
export function fromTsDiagnostic(d: ts.Diagnostic): BuildDiagnostic {
  const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
  if (d.file === undefined || d.start === undefined) {
    return { file: '', line: 1, column: 1, code: 'PPP2P0001', message: `TS${d.code}: ${text}`, hint: RULES.PPP2P0001.hint };
  }
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return {
    file: d.file.fileName,
    line: line + 1,
    column: character + 1,
    code: 'PPP2P0001',
    message: `TS${d.code}: ${text}`,
    hint: RULES.PPP2P0001.hint,
  };
}

/** `file:line:col PPP2P####: message` and an indented hint line; the file is relative to the cwd. */
export function formatDiagnostic(d: BuildDiagnostic): string {
  const file = d.file === '' ? '<build>' : path.relative(process.cwd(), d.file) || d.file;
  return `${file}:${d.line}:${d.column} ${d.code}: ${d.message}\n  hint: ${d.hint}`;
}

export function compareDiagnostics(a: BuildDiagnostic, b: BuildDiagnostic): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column || (a.code < b.code ? -1 : 1);
}
