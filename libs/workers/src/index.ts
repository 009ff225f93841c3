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
  callOf,
  FrameError,
  FrameKind,
  FrameReader,
  type LinkCall,
  type LinkRequestMeta,
  type LinkResponseMeta,
  MAX_FRAME_BYTES,
  frameHead,
  parseMeta,
} from './link-frames.js';
export { readFrames, writeFrame } from './link-socket.js';
