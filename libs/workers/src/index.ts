export { rendezvousOrder } from './rendezvous.js';
export {
  type WorkerInfo,
  type WorkerKeys,
  liveWorkers,
  publishHeartbeat,
  withdrawWorker,
  workerKeys,
} from './worker-registry.js';
