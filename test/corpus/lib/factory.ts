// A class that is not exported: its instances still reach other modules' frames through an
// exported factory, so it must be registered for the codec all the same.
import { checkpoint } from 'ppp2p';

class Hidden {
  readonly parts: string[] = [];
  constructor(readonly owner: string) {}
  add(part: string): this {
    this.parts.push(part);
    return this;
  }
  async render(): Promise<string> {
    await checkpoint();
    return `${this.owner}:${this.parts.join('+')}`;
  }
}

export function makeHidden(owner: string): { add(part: string): unknown; render(): Promise<string> } {
  return new Hidden(owner);
}
