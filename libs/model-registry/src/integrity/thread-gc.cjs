'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: an eval'd CommonJS thread requires it */
// gc() for a worker thread's own isolate, shared by the threads that load models (the inference
// worker's model threads, the artifact thread): their small heaps give V8 no reason to collect,
// so the bytes of a finished load (memory outside the heap) would stay until it happened to.
// Plain CommonJS, used as it is from src (tests) and dist (copied by the build), by an ES module
// thread (createRequire) and an eval'd CommonJS one alike.
const { setFlagsFromString } = require('node:v8');
const { runInNewContext } = require('node:vm');

/**
 * This thread's gc(). `--expose-gc` puts gc() into contexts created while it is set; the flag is
 * V8-wide (left set, 32-row serving ran ~20 % slower), so it is set just long enough to create
 * one context and cleared again. Other threads do the same at the same moments (a worker starts
 * its model threads together): one may clear the flag between this thread's set and its context,
 * which then has no gc(), so it tries again. After 100 misses it gives up: a thread without gc()
 * still works, it only frees a load's bytes later.
 */
function threadCollector() {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('typeof gc === "function" ? gc : undefined');
    setFlagsFromString('--no-expose-gc');
    if (typeof gc === 'function') return gc;
  }
  return () => undefined;
}

module.exports = { threadCollector };
