import { useSyncExternalStore } from 'react';
import { sessionStore } from '../api/client';
import type { SessionState } from '../api/session';

export function useSession(): SessionState {
  return useSyncExternalStore(sessionStore.subscribe, sessionStore.getSnapshot);
}
