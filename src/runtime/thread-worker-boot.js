// Worker threads do not inherit loader hooks registered at run time, so each worker registers tsx
// itself before loading the TypeScript entry: thread code and the runtime are .ts files.
import { register } from 'tsx/esm/api';
process.setSourceMapsEnabled(true);
register();
await import('./thread-worker.ts');
