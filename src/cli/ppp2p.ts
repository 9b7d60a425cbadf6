#!/usr/bin/env node
// The ppp2p command (package.json "bin": dist/cli/ppp2p.js).
import { main } from './cli.ts';

process.setSourceMapsEnabled(true);
process.exitCode = await main(process.argv.slice(2));
