#!/usr/bin/env node
// The ppp2p command. Everything it runs is TypeScript, loaded through tsx.
import { register } from 'tsx/esm/api';
process.setSourceMapsEnabled(true);
register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
