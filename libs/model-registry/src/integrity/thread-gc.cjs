'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: an eval'd CommonJS thread requires it */
// Collection after a load, for a worker thread's own isolate, shared by the threads that load
// models (the inference worker's model threads, the artifact thread): their small heaps give V8
// no reason to collect, so the bytes of a finished load (memory outside the heap) would stay
// until it happened to. Plain CommonJS, used as it is from src (tests) and dist (copied by the
// build), by an ES module thread (createRequire) and an eval'd CommonJS one alike.
const { setFlagsFromString } = require('node:v8');
const { runInNewContext } = require('node:vm');

/**
 * This thread's gc(). `--expose-gc` puts gc() into contexts created while it is set; the flag is
 * V8-wide (left set, 32-row serving ran ~20 % slower), so it is set just long enough to create
 * one context and cleared again. Other threads do the same at the same moments (a worker starts
 * its model threads together): one may clear the flag between this thread's set and its context,
 * which then has no gc(), so it tries again. After 100 misses it gives up.
 */
function exposedGc() {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('typeof gc === "function" ? gc : undefined');
    setFlagsFromString('--no-expose-gc');
    if (typeof gc === 'function') return gc;
  }
  return undefined;
}

/**
 * What a thread calls once a load's bytes are garbage: a young-generation collection. Those
 * bytes (received for the load, or made from them) are young (nothing on these threads allocates
 * enough meanwhile to promote them), and a scavenge frees young ArrayBuffers' memory at once, in
 * ~0.3 ms, where the full collection this used to be cost 5–25 ms of CPU per load plus V8's
 * helper threads (measured: 20 of them during 10 cold loads of 8 MiB models). Should a buffer
 * ever be promoted, V8's own accounting of memory outside the heap still collects it once that
 * grows. A thread without gc() (see exposedGc) gets a no-op: it works, and frees later.
 */
function threadCollector() {
  const gc = exposedGc();
  if (gc === undefined) return function noCollection() {};
  return function collectYoung() {
    gc({ type: 'minor' });
  };
}

module.exports = { threadCollector };
