// expect: PPP2P1001 line 7
// A checkpoint inside an event handler registered with an EventEmitter.
import { EventEmitter } from 'node:events';
import { checkpoint } from 'ppp2p';
export async function main(): Promise<void> {
  const emitter = new EventEmitter();
  emitter.on('data', async () => { await checkpoint(); });
  emitter.emit('data');
  await checkpoint();
}
