// One model thread of an inference worker (see ort-threads.ts): holds onnxruntime sessions and
// runs them, so that loading or running one tenant's model never holds the worker's event loop
// (onnxruntime-node builds sessions and runs them synchronously on the calling thread).
// Plain JavaScript: started as it is from src (tests) and from dist (copied by the build).
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { PACK_MIN_ELEMENTS, PackedBytes } from '@maas/tensors/packed-bytes';

// A model's bytes are garbage once onnxruntime has built its session from them, but V8 frees
// memory outside its heap only when it collects, and this thread's small heap gives it no
// reason to: each model thread would hold the bytes of its last loads (tens of MiB apiece),
// uncharged by the worker's memory budget. A collection of this thread's heap after each load
// (a few ms; loads are rare) frees them at once (thread-gc.cjs, @maas/model-registry).
const collect = createRequire(import.meta.url)(workerData.gcHelper).threadCollector();

// Serving comes first: this thread (and the onnxruntime threads it starts, which inherit it)
// runs at a lower CPU priority than the event loop that answers every tenant, so a tenant's
// model building sessions or computing holds the cores only while nothing else needs them.
// Linux: setpriority on a thread id sets that thread's nice value; elsewhere it is skipped.
if (workerData?.nice > 0) {
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), workerData.nice);
  } catch {
    // not Linux, or not allowed: the thread runs at the process's priority
  }
}

/** @type {Map<number, ort.InferenceSession>} */
const sessions = new Map();

// Large string tensors cross between this thread and the event loop packed (PackedBytes: every
// element's UTF-8 bytes in one buffer, where each ends in another), so the loop never makes or
// reads an object per element; the strings are made here.

/** A feed's data as onnxruntime takes it: packed strings read out. */
function unpacked(data) {
  const packed = PackedBytes.revive(data);
  return packed instanceof PackedBytes ? packed.toStrings() : data;
}

/** An output's data as it goes back: a large string tensor packed. */
function packed(data) {
  return Array.isArray(data) && data.length >= PACK_MIN_ELEMENTS ? PackedBytes.of(data) : data;
}

/** Posts `message`, handing over the output buffers without a copy where they can be. */
function reply(message, buffers = []) {
  try {
    parentPort.postMessage(message, buffers);
  } catch {
    parentPort.postMessage(message); // a buffer that cannot be transferred is copied
  }
}

// onnxruntime-node is loaded (the imports above ran): the thread may be stopped safely from now
// on (ort-threads.ts: one stopped while the addon registers takes the process down).
parentPort.postMessage({ loaded: true });

parentPort.on('message', async (message) => {
  const { id, op, session: key } = message;
  try {
    if (op === 'open') {
      sessions.set(
        key,
        await ort.InferenceSession.create(new Uint8Array(message.bytes), message.options),
      );
      delete message.bytes;
      reply({ id });
      collect();
    } else if (op === 'run') {
      const session = sessions.get(key);
      if (!session) throw new Error('no such session');
      const feeds = {};
      for (const [name, feed] of Object.entries(message.feeds)) {
        feeds[name] = new ort.Tensor(feed.type, unpacked(feed.data), feed.dims);
      }
      const results = await session.run(feeds, message.outputs);
      // Outputs past the caller's limit never leave this thread: the event loop would only
      // receive them to refuse them, and collect them afterwards.
      let bytes = 0;
      for (const name of message.outputs) {
        const data = results[name].data;
        bytes += ArrayBuffer.isView(data)
          ? data.byteLength
          : data.reduce((sum, text) => sum + text.length, 0);
      }
      if (message.maxOutputBytes !== undefined && bytes > message.maxOutputBytes) {
        reply({ id, tooLarge: bytes });
        return;
      }
      const outputs = {};
      const buffers = new Set();
      for (const name of message.outputs) {
        const tensor = results[name];
        const data = packed(tensor.data);
        outputs[name] = { type: tensor.type, data, dims: tensor.dims };
        if (ArrayBuffer.isView(data)) buffers.add(data.buffer);
        else if (data instanceof PackedBytes) for (const b of data.transferables()) buffers.add(b);
      }
      reply({ id, outputs }, [...buffers]);
    } else if (op === 'release') {
      const session = sessions.get(key);
      sessions.delete(key);
      await session?.release();
      reply({ id });
    }
  } catch (error) {
    reply({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
