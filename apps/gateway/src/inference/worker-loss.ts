/** The version a request in flight runs: what a worker's loss is attributed to. */
export interface InFlightVersion {
  tenantId: string;
  versionId: string;
  model: string;
  version: number;
}

/**
 * Which versions to blame when a worker's connection is lost with their requests in flight
 * (each once). Every request in flight fails, but blaming each version would let one tenant's
 * model that crashes workers get the versions of busy tenants beside it quarantined too. So:
 *
 * - versions that never had an answer from this worker address (over the link or HTTP) are the
 *   suspects: a model that stops its worker stops it before answering;
 * - when every version in flight had answers there, they are blamed only if they are all one
 *   tenant's (it can only hurt itself); across tenants the loss is not attributed.
 *
 * An attacker could evade this with a model that answers some requests and crashes on others;
 * that costs it one failed request per crash (nothing is replayed), and never another tenant's
 * quarantine.
 */
export function lossSuspects(
  inFlight: Iterable<InFlightVersion>,
  answered: ReadonlySet<string>,
): InFlightVersion[] {
  const versions = new Map<string, InFlightVersion>();
  for (const entry of inFlight) versions.set(entry.versionId, entry);
  const all = [...versions.values()];
  const neverAnswered = all.filter((v) => !answered.has(v.versionId));
  if (neverAnswered.length > 0) return neverAnswered;
  return new Set(all.map((v) => v.tenantId)).size === 1 ? all : [];
}

/** Versions remembered as answered by one worker before the record starts over. */
const MAX_ANSWERED_VERSIONS = 10_000;

/** Records that `versionId` answered on a worker (the `answered` lossSuspects reads), bounded. */
export function rememberAnswered(answered: Set<string>, versionId: string): void {
  if (answered.size >= MAX_ANSWERED_VERSIONS) answered.clear();
  answered.add(versionId);
}
