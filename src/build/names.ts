/**
 * Fresh identifiers for emitted code. Every name the transform invents ($t, $pc, temporaries,
 * frame classes, renamed locals) is checked against every identifier of the source file, so
 * emitted code can never capture or shadow a user binding.
 */
import ts from 'typescript';

export class FileNames {
  readonly #taken: Set<string>;

  constructor(sf: ts.SourceFile) {
    this.#taken = new Set();
    const visit = (node: ts.Node): void => {
      if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) this.#taken.add(node.text);
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }

  /** A name not used anywhere in the file nor handed out before: `base`, else `base1`, `base2`, ... */
  unique(base: string): string {
    if (!this.#taken.has(base)) {
      this.#taken.add(base);
      return base;
    }
    return this.fresh(base);
  }

  /** `prefix1`, `prefix2`, ...: the first one not taken. */
  fresh(prefix: string): string {
    for (let i = 1; ; i++) {
      const name = `${prefix}${i}`;
      if (!this.#taken.has(name)) {
        this.#taken.add(name);
        return name;
      }
    }
  }

  has(name: string): boolean {
    return this.#taken.has(name);
  }
}
