export { rendezvousOrder } from './rendezvous.js';
export {
  type WorkerInfo,
  type WorkerKeys,
  liveWorkers,
  publishHeartbeat,
  withdrawWorker,
  workerKeys,
} from './worker-registry.js';
export {
  type Frame,
  FrameError,
  FrameKind,
  FrameReader,
  type LinkRequestMeta,
  type LinkResponseMeta,
  MAX_FRAME_BYTES,
  frameHead,
  parseMeta,
} from './link-frames.js';
export { readFrames, writeFrame } from './link-socket.js';
