import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Counter, Gauge, type Registry } from 'prom-client';

/** Requests one client may start per turn of the event loop before the rest wait their turn. */
export const ADMISSIONS_PER_TURN = 4;
/**
 * A client's share of a turn while it is the only client the gateway has admitted for
 * CONTENTION_WINDOW_MS: there is nobody to be fair to, and splitting its bursts over turns only
 * splits its work into smaller batches (more link writes, smaller runtime calls).
 */
export const ADMISSIONS_PER_TURN_ALONE = 64;
/** How long after a second client was admitted the shares stay at ADMISSIONS_PER_TURN. */
export const CONTENTION_WINDOW_MS = 1_000;
/** Requests one client may have waiting; past that it is answered 429 at once. */
export const MAX_WAITING_PER_CLIENT = 2_000;

export interface FairAdmissionOptions {
  /** A client's share of a turn while other clients are about (ADMISSIONS_PER_TURN). */
  perTurn?: number;
  /** A client's share of a turn while it is alone (ADMISSIONS_PER_TURN_ALONE). */
  alonePerTurn?: number;
  /** Requests one client may have waiting (MAX_WAITING_PER_CLIENT). */
  maxWaiting?: number;
  /** Called for each request that has to wait for a later turn. */
  onDeferred?: () => void;
  /** Milliseconds on a monotonic clock (tests pass their own). */
  now?: () => number;
}

/**
 * Fair admission of requests onto the gateway's one event loop, by client.
 *
 * Node handles every socket that became readable in one poll of the event loop, and each
 * request's handler runs to its first await before the next socket is read: a tenant that opens
 * 200 connections at once (a slowloris wave, hundreds of event streams, a burst of uploads) has
 * all 200 requests authenticated, rate-checked and answered before a request of another tenant
 * that arrived in the same millisecond starts — a stall of tens of milliseconds for everyone,
 * paid for by nobody. Here each client starts at most `perTurn` requests per turn of the loop;
 * the rest wait (a closure in a queue: no parsing, no lookup) and are started `perTurn` per
 * turn, turn after turn, in arrival order. Between two turns Node polls the sockets again, so
 * another client's request waits behind at most `perTurn` of the burst, not all of it. A client
 * that is not over its share is never delayed and pays one Map lookup.
 *
 * A client alone on the gateway (no other client admitted within CONTENTION_WINDOW_MS) has the
 * larger `alonePerTurn` share: its bursts are not split, so they reach the worker in one write
 * and run in one call (an interleaved A/B of a lone client at 64 connections, binary 1-row:
 * 424 → 388 µs of server CPU per request, rows per runtime call 11.6 → 15.9;
 * docs/performance.md). What it costs: a client that arrives in the very poll of a lone
 * client's burst waits behind up to `alonePerTurn` of its requests once; from then on both are
 * about and the shares are `perTurn` again.
 */
export class FairAdmission {
  /** Requests started this turn, by client. */
  private readonly started = new Map<string, number>();
  /** Requests waiting for a later turn, by client (a key is here only while its queue is not empty). */
  private readonly waiting = new Map<string, (() => void)[]>();
  private turnScheduled = false;
  private readonly perTurn: number;
  private readonly alonePerTurn: number;
  private readonly maxWaiting: number;
  private readonly onDeferred: () => void;
  private readonly now: () => number;
  /** The client admitted last, and until when the shares stay small after another one was. */
  private lastClient?: string;
  private contendedUntil = -Infinity;

  constructor(options: FairAdmissionOptions = {}) {
    this.perTurn = options.perTurn ?? ADMISSIONS_PER_TURN;
    this.alonePerTurn = Math.max(this.perTurn, options.alonePerTurn ?? ADMISSIONS_PER_TURN_ALONE);
    this.maxWaiting = options.maxWaiting ?? MAX_WAITING_PER_CLIENT;
    this.onDeferred = options.onDeferred ?? (() => undefined);
    this.now = options.now ?? (() => performance.now());
  }

  /** A client's share of the current turn: `perTurn` while clients contend, else `alonePerTurn`. */
  private share(): number {
    return this.now() < this.contendedUntil ? this.perTurn : this.alonePerTurn;
  }

  /**
   * Runs `start` now if `client` has a share left this turn, or queues it for a later turn.
   * Returns false (and runs nothing) when the client already has `maxWaiting` requests queued.
   */
  admit(client: string, start: () => void): boolean {
    if (client !== this.lastClient) {
      if (this.lastClient !== undefined) this.contendedUntil = this.now() + CONTENTION_WINDOW_MS;
      this.lastClient = client;
    }
    const queue = this.waiting.get(client);
    if (queue) {
      if (queue.length >= this.maxWaiting) return false;
      queue.push(start);
      this.onDeferred();
      return true;
    }
    const count = this.started.get(client) ?? 0;
    this.scheduleTurn();
    if (count < this.share()) {
      this.started.set(client, count + 1);
      start();
    } else {
      this.waiting.set(client, [start]);
      this.onDeferred();
    }
    return true;
  }

  /** Requests waiting for their turn, over all clients. */
  get waitingCount(): number {
    let total = 0;
    for (const queue of this.waiting.values()) total += queue.length;
    return total;
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => this.turn());
  }

  /** A new turn: every client's share is whole again; queued clients start up to theirs. */
  private turn(): void {
    this.turnScheduled = false;
    this.started.clear();
    if (this.waiting.size === 0) return;
    const ready: (() => void)[] = [];
    const share = this.share();
    for (const [client, queue] of this.waiting) {
      const batch = queue.splice(0, share);
      this.started.set(client, batch.length);
      if (queue.length === 0) this.waiting.delete(client);
      ready.push(...batch);
    }
    // Another turn follows, for what is still queued and to reset the shares just used.
    this.scheduleTurn();
    for (const start of ready) start();
  }
}

/** The answer to a client with `MAX_WAITING_PER_CLIENT` requests already waiting. */
function refuse(request: IncomingMessage, response: ServerResponse): void {
  const detail = 'too many requests waiting from this client';
  // The inference protocols' error shape on their paths, problem+json elsewhere.
  const inference = /^\/v[12]\//.test(request.url ?? '');
  const body = inference
    ? { error: detail }
    : { type: 'about:blank', title: 'Too Many Requests', status: 429, detail };
  response.writeHead(429, {
    'content-type': inference ? 'application/json' : 'application/problem+json',
    'retry-after': '1',
    connection: 'close',
  });
  response.end(JSON.stringify(body));
}

/**
 * Puts every request the server receives — the inference hot path and Fastify's routes alike —
 * through FairAdmission, ahead of every other 'request' listener (so call it once they are all
 * attached, e.g. on 'listening'). `clientOf` names the client a request is charged to: the
 * tenant of an API key this gateway has already verified (a synchronous cache check), else the
 * client IP, so made-up keys share their sender's queue.
 */
export function admitRequestsFairly(
  server: Server,
  options: {
    clientOf: (request: IncomingMessage) => string;
    registry: Registry;
    perTurn?: number;
    alonePerTurn?: number;
  },
): FairAdmission {
  const deferred = new Counter({
    name: 'maas_fair_admission_deferred_total',
    help: 'Requests that waited at least one event-loop turn because their client had used its share of the turn',
    registers: [options.registry],
  });
  const admission = new FairAdmission({
    perTurn: options.perTurn,
    alonePerTurn: options.alonePerTurn,
    onDeferred: () => deferred.inc(),
  });
  new Gauge({
    name: 'maas_fair_admission_waiting',
    help: 'Requests waiting for their event-loop turn',
    registers: [options.registry],
    collect() {
      this.set(admission.waitingCount);
    },
  });
  const listeners = server.listeners('request') as ((
    request: IncomingMessage,
    response: ServerResponse,
  ) => void)[];
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const start = () => {
      // A client that gave up while waiting costs nothing more.
      if (request.destroyed) return;
      for (const listener of listeners) listener(request, response);
    };
    if (!admission.admit(options.clientOf(request), start)) refuse(request, response);
  });
  return admission;
}
