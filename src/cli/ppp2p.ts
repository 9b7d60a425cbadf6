#!/usr/bin/env node
// The ppp2p command (package.json "bin": dist/cli/ppp2p.js).
import { main } from './cli.ts';

process.setSourceMapsEnabled(true);
const status = await main(process.argv.slice(2));
// A failure exits now: whatever a failed start left open (a socket, a timer) must not keep the process, or a port, alive.
if (status !== 0) process.exit(status);
process.exitCode = status;
