/**
 * Emitted thread code imports `checkpoint`, `thread` and `globals` from 'ppp2p/thread' rather than
 * 'ppp2p', whose index also loads the application SDK (VirtualComputer, the peer controller, ws,
 * esbuild): a worker that runs or resumes a thread then loads only the runtime and the thread API.
 * Sources keep importing from 'ppp2p'; assemblies keep 'ppp2p/thread' external and bind it per peer.
 */
import { describe, expect, test } from 'vitest';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { bindSdkImports } from '../../src/daemon/host/assembly-manager.ts';
import { bundleAssembly } from '../../src/client/assembly-bundler.ts';
import { buildSources, repoRoot } from './support/build.ts';
import { runInProcess } from './support/migrate.ts';

const b = buildSources('thread-import', {
  'only.ts': `import { checkpoint, thread as t, globals, type VirtualComputerOptions } from 'ppp2p';
export type Options = VirtualComputerOptions;
export async function main(): Promise<number> {
  let x = t.random() < 2 ? 1 : 0;
  await checkpoint();
  x += typeof globals === 'object' ? 1 : 0;
  await checkpoint();
  return x;
}
`,
  'mixed.ts': `import { checkpoint, VirtualComputer } from 'ppp2p';
export async function kind(): Promise<string> {
  await checkpoint();
  return typeof VirtualComputer;
}
`,
  'namespace.ts': `import * as p from 'ppp2p';
export async function ns(): Promise<void> {
  await p.checkpoint();
}
`,
  'no-frames.ts': `import { thread } from 'ppp2p';
export const count = (): number => thread.count;
`,
});

describe("emitted thread code imports the thread API from 'ppp2p/thread'", () => {
  test('an import of checkpoint, thread and globals only (aliases and types aside) is rewritten; any other is kept', () => {
    expect(b.report()).toBe('');
    expect(b.text('only.ts')).toContain("import { checkpoint, thread as t, globals } from 'ppp2p/thread';");
    expect(b.text('no-frames.ts')).toContain("import { thread } from 'ppp2p/thread';");
    expect(b.text('mixed.ts')).toContain("import { checkpoint, VirtualComputer } from 'ppp2p';");
    expect(b.text('namespace.ts')).toContain("import * as p from 'ppp2p';");
  });

  test('the rewritten module runs and migrates at every checkpoint', async () => {
    const { main } = await b.load<{ main: () => Promise<number> }>('only.ts');
    expect(await runInProcess(main, [], { migrateEvery: 1 })).toEqual({ result: 2, snapshots: 2, migrations: 2 });
  });

  test("an assembly keeps 'ppp2p/thread' external and binds it to this peer's thread API", async () => {
    const assembly = await bundleAssembly(pathToFileURL(join(b.outDir, 'only.js')).href);
    const code = new TextDecoder().decode(assembly.code);
    expect(code).toMatch(/from\s*"ppp2p\/thread"/);
    expect(code).not.toContain('hostFeature'); // src/runtime/thread-api.ts was not bundled into it
    expect(bindSdkImports(code)).toContain(pathToFileURL(join(repoRoot, 'src/runtime/thread-api.ts')).href);
  });
});
