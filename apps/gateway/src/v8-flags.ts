/**
 * V8 flags the gateway sets at start (bootstrapApp's `v8Flags`).
 *
 * `--heap-growing-percent=300`: after a full collection V8 lets the old generation grow to four
 * times what survived (V8's own largest factor) before starting the next one. Left to its
 * estimate, V8 chose a factor near its minimum (1.1) while uploads streamed through the gateway
 * (hundreds of MiB of Buffers: its speed estimate counts only the main thread's share of the
 * marking), and full collections ran back to back: under hostile-uploads' attack (~420 MiB of
 * bodies in ~5 s) `perf record` of the gateway put ~30 % of its CPU in V8's marking and sweeping,
 * and the gateway spent 5.7-7.1 s of CPU in 6.2-6.9 s (B's p99 2-3.5× its quiet one). With the
 * flag: 3.2-3.3 s, B's p99 1.65-1.80×. Serving is unchanged (ab.mjs, binary 1 row at 64
 * connections: 205.5 → 201.3 µs per request; a factor of 2, as the worker's, cost the gateway
 * +5 %: its heap, unlike the worker's, is not mostly pointer-free strings). Cost: up to three
 * live heaps (~200 MB) of garbage before a collection, inside the gateway's own 1 GiB of its
 * memory limit (k8s/base/gateway.yaml).
 */
export const GATEWAY_V8_FLAGS = ['--heap-growing-percent=300'] as const;
