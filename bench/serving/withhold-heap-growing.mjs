// Preload for bench/serving/gc-storms.mjs (NODE_OPTIONS=--import): the app sets its V8 flags
// through node:v8's setFlagsFromString at start; this drops `--heap-growing-percent` from them,
// so the same build runs with V8's own growing factor.
import { syncBuiltinESMExports } from 'node:module';
import v8 from 'node:v8';

const set = v8.setFlagsFromString;
v8.setFlagsFromString = (flags) => {
  if (!flags.startsWith('--heap-growing-percent')) set(flags);
};
syncBuiltinESMExports();
