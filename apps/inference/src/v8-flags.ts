/**
 * V8 flags the inference worker sets at start (bootstrapApp's `v8Flags`).
 *
 * `--heap-growing-percent=100`: after a full collection V8 lets the old generation grow to twice
 * what survived before starting the next one, instead of a factor it derives from how fast it
 * believes it marks. That belief counts only the main thread's share of the marking; the
 * worker's heap is mostly large, pointer-free strings (module sources, an embedded wasm image)
 * that V8's helper threads mark concurrently, so V8 measured 250,000–780,000 bytes/ms against
 * ~2,000 of allocation and chose its minimum factor, 1.1: a limit so close to the 63 MB live heap
 * that the next marking started as soon as the last one ended. Under 32-row binary requests the
 * worker then ran 20–40 full collections in 5 s, and V8's helper threads spent ~200 µs of CPU per
 * request on them (the model thread and event loop together ~650), on a 2-core machine where
 * that CPU is the gateway's. With the fixed factor: 5 in the same run (docs/performance.md,
 * "Full-collection storms in the worker"). Cost: up to one live heap (~60 MB) of garbage more
 * before a collection, well inside the worker's memory limit (k8s/base: 4 GiB).
 */
export const INFERENCE_V8_FLAGS = ['--heap-growing-percent=100'] as const;
