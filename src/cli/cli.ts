/** Dispatches `ppp2p <command>`; each command lives in its own module under commands/. */
import { UsageError } from './errors.ts';

const commands: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  build: { summary: 'transform checkpointable code: ppp2p build <dir> --out <dir>', load: () => import('./commands/build.ts') },
  run: {
    summary: 'run one thread locally: ppp2p run <built.js> <export> [--args JSON] [--migrate-every N]',
    load: () => import('./commands/run.ts'),
  },
  peer: { summary: 'the daemon: ppp2p peer [--port P] [--join ws://h:p,...] [--swarm-key-file F] ... (ppp2p peer --help)', load: () => import('./commands/peer.ts') },
  keygen: { summary: 'print a new swarm key: ppp2p keygen > swarm.key', load: () => import('./commands/keygen.ts') },
  status: { summary: 'peers, virtual computers, threads: ppp2p status [--controller ws://h:p] [--swarm-key-file F] [--json]', load: () => import('./commands/status.ts') },
};

function help(): string {
  return ['usage: ppp2p <command> [options]', '', 'commands:', ...Object.entries(commands).map(([n, c]) => `  ${n.padEnd(8)} ${c.summary}`)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    console.error(`ppp2p: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  try {
    return await (await command.load()).run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`ppp2p ${name}: ${err.message}`);
      return 2;
    }
    console.error(`ppp2p ${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }
}
