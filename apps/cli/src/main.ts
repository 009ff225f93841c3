#!/usr/bin/env node
import { runCli } from './cli.js';
import type { Io } from './context.js';

const io: Io = {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  onInterrupt(handler) {
    process.on('SIGINT', handler);
    return () => process.off('SIGINT', handler);
  },
};

// The exit code is set, not forced: stdout drains before the process ends.
process.exitCode = await runCli(process.argv.slice(2), io);
