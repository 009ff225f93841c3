export {
  activateTfjsBackend,
  availableTfjsBackends,
  chooseTfjsBackend,
  loadTfjs,
  tfjsBackendOrder,
  type Tf,
  type TfjsBackendName,
  type TfjsBackendRequest,
} from './tfjs-backend.js';
