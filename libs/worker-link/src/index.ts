export { rendezvousOrder } from './rendezvous.js';
export {
  type WorkerInfo,
  type WorkerKeys,
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
  type LinkRequestKind,
  type LinkRequestMeta,
  type LinkResponseMeta,
  MAX_FRAME_BYTES,
  MAX_LINK_BODY_BYTES,
  frameHead,
  parseMeta,
} from './link-frames.js';
export { readFrames, writeFrame } from './link-socket.js';
export {
  acceptLinkHandshake,
  type HandshakeFailure,
  LINK_CHALLENGE_BYTES,
  LINK_HANDSHAKE_TIMEOUT_MS,
  LINK_MAGIC,
  LINK_NONCE_BYTES,
  LINK_PROOF_BYTES,
  LinkHandshakeError,
  linkProof,
  openLinkHandshake,
} from './link-handshake.js';
export {
  SIGNATURE_HEADER,
  SIGNATURE_WINDOW_MS,
  type SignatureVerdict,
  type SignedRequest,
  signWorkerRequest,
  verifyWorkerRequest,
} from './request-signature.js';
