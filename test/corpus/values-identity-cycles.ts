// Shared references and cycles across checkpoints: two locals pointing at one object stay one
// object (a write through one is seen through the other), cycles survive, and the same object
// used as a Map key and a Set member is still found after a resume.
import { checkpoint } from 'ppp2p';

interface Node {
  name: string;
  next?: Node;
  parent?: Node;
  children: Node[];
}

export async function main(): Promise<unknown> {
  const a = { value: 1 };
  const b = a;
  const holder = { first: a, second: a, list: [a, a] };
  const root: Node = { name: 'root', children: [] };
  const child: Node = { name: 'child', parent: root, children: [] };
  root.children.push(child);
  root.next = child;
  child.next = root;
  const self: { me?: unknown; arr: unknown[] } = { arr: [] };
  self.me = self;
  self.arr.push(self.arr, self);
  const keyObj = { id: 'k' };
  const index = new Map<object, string>([[keyObj, 'found']]);
  const members = new Set<object>([keyObj]);
  await checkpoint();
  b.value = 2;
  await checkpoint();
  return {
    sameLocal: a === b,
    valueThroughA: a.value,
    holderShares: holder.first === holder.second && holder.list[0] === a && holder.list[1] === b,
    cycle: root.next?.next === root && child.parent === root && root.children[0] === child,
    selfCycle: self.me === self && self.arr[0] === self.arr && self.arr[1] === self,
    mapKey: index.get(keyObj) ?? 'missing',
    setMember: members.has(keyObj),
    mapKeyIsSetMember: [...index.keys()][0] === [...members][0],
  };
}
