import { connect, type Socket } from 'node:net';
import { Inject, Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import {
  APP_LOGGER,
  DomainError,
  type Logger,
  METRICS_REGISTRY,
  setIoDeadline,
} from '@maas/app-runtime';
import {
  type Frame,
  FrameKind,
  frameHead,
  type LinkCall,
  type LinkHandshakeError,
  type LinkRequestMeta,
  type LinkResponseMeta,
  openLinkHandshake,
  parseMeta,
  readFrames,
  writeFrame,
} from '@maas/worker-link';
import { Counter, type Registry } from 'prom-client';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { WorkerUnreachableError } from './inference-worker.client.js';
import { type InFlightVersion, lossSuspects, rememberAnswered } from './worker-loss.js';

const CONNECT_TIMEOUT_MS = 2000;
/**
 * Bytes a link may hold in its socket's buffer (not yet taken by the kernel) before further
 * requests wait in its queue for 'drain'. Well above what a busy event-loop turn writes (the
 * happy path never queues), and above Node's highWaterMark, so 'drain' is sure to come.
 */
const WRITE_BUFFER_BYTES = 4 * 1024 * 1024;
/** Bytes of requests one link queues while its worker does not read; past it 503. */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
const NO_BODY = Buffer.alloc(0);

export interface LinkResponse {
  meta: LinkResponseMeta;
  body: Buffer;
}

/** A request frame waiting for the socket to drain. */
interface Queued {
  id: number;
  head: Buffer;
  body: Buffer;
  bytes: number;
  /** Timed out while queued: skipped, its body never sent. */
  dropped: boolean;
}

interface Pending {
  resolve: (response: LinkResponse) => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout;
  /** The version it runs, when the caller said (what a loss of the connection is blamed on). */
  version?: InFlightVersion;
  /** Its frame went into the socket: it may have reached the worker. */
  written: boolean;
  queued?: Queued;
  /** Its version had never run to an answer on any worker when it was sent (WorkerLink.untried). */
  untried: boolean;
}

/** `host:port` (IPv6 hosts in brackets) → connect options. */
export function parseLinkAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`bad worker link address '${address}'`);
  }
  return { host, port };
}

/** What a link reports when its connection is lost with requests written on it. */
export type LinkLossListener = (address: string, suspects: InFlightVersion[]) => void;

/** What a link tells its client about its connection. */
interface LinkEvents {
  /** A connection proved the secret and carries frames. */
  opened(link: WorkerLink): void;
  /** The connection is gone, so an address no longer used is forgotten. */
  closed(link: WorkerLink): void;
  handshakeFailed(link: WorkerLink, error: LinkHandshakeError): void;
  lost: LinkLossListener;
  corrupt(link: WorkerLink, error: Error): void;
}

/**
 * One persistent connection to one worker's link, carrying any number of requests at once.
 * Connects on first use and again after the connection is lost. A request that never went out
 * (not connected, or still queued) fails with WorkerUnreachableError before-send (the forwarder
 * may try the next worker); one written when the connection is lost fails with it after-send
 * (marked a bystander when the loss is blamed on other versions: see InferenceForwarder), and
 * the loss is reported with the versions to blame (lossSuspects). Writes
 * respect backpressure: past WRITE_BUFFER_BYTES buffered, requests wait in a bounded queue for
 * 'drain', and one whose deadline passes there is dropped unsent. A new connection carries
 * frames only after the handshake proved WORKER_SECRET both ways.
 */
class WorkerLink {
  private socket?: Socket;
  private connecting?: Promise<Socket>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private queue: Queued[] = [];
  private queuedBytes = 0;

  /** Closed by the gateway itself (shutdown) or over a corrupt stream: no loss to blame. */
  private closing = false;
  /**
   * Requests pending on this link whose version had never run to an answer (200) on any worker
   * when they were sent: the kind that stops a worker (a model that crashes its worker does so
   * on its first call, and on every one after). WorkerLinkClient.untriedInFlight.
   */
  untried = 0;

  constructor(
    readonly address: string,
    private readonly secret: string,
    private readonly events: LinkEvents,
    /**
     * Versions this worker address has answered (lossSuspects), kept by the client across
     * reconnections: a version that answered before a worker restarted is no suspect on the new
     * connection either (else a bystander's first request after a restart would share the
     * blame for the next loss).
     */
    private readonly answered: Set<string>,
    /** Versions that ran to an answer (200) on any worker (WorkerLinkClient.ranSomewhere). */
    private readonly ran: Set<string>,
  ) {}

  async request(
    kind: FrameKind,
    meta: LinkRequestMeta,
    body: Buffer,
    timeoutMs: number,
    version?: InFlightVersion,
  ): Promise<LinkResponse> {
    const socket = this.socket ?? (await (this.connecting ??= this.connect()));
    // Lost since, or the worker's end already closed (its 'close' settles what is pending):
    // this one is not written, so another worker may take it.
    if (socket.destroyed || !socket.writable || socket.readableEnded) {
      throw new WorkerUnreachableError(this.address, true);
    }
    const id = (this.nextId = (this.nextId + 1) >>> 0);
    const head = frameHead(id, kind, meta, body.length);
    const writeNow = this.queue.length === 0 && socket.writableLength < WRITE_BUFFER_BYTES;
    const bytes = head.length + body.length;
    if (!writeNow && this.queuedBytes + bytes > MAX_QUEUED_BYTES) {
      throw Object.assign(
        new DomainError('UNAVAILABLE', 'the inference worker is not keeping up; retry shortly'),
        { retryAfterSeconds: 1 },
      );
    }
    const answered = new Promise<LinkResponse>((resolve, reject) => {
      const pending: Pending = {
        resolve,
        reject,
        version,
        written: writeNow,
        untried: version !== undefined && !this.ran.has(version.versionId),
        timer: setIoDeadline(() => this.expire(id), timeoutMs),
      };
      if (pending.untried) this.untried++;
      this.pending.set(id, pending);
      if (!writeNow) {
        pending.queued = { id, head, body, bytes, dropped: false };
        this.queue.push(pending.queued);
        this.queuedBytes += bytes;
        if (this.queue.length === 1) socket.once('drain', () => this.flush(socket));
      }
    });
    if (writeNow) writeFrame(socket, head, body);
    return answered;
  }

  close(): void {
    this.closing = true;
    this.socket?.destroy();
  }

  private expire(id: number): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    if (pending.untried) this.untried--;
    if (pending.queued) {
      // Past its deadline before it was written: its body is never sent.
      pending.queued.dropped = true;
      this.queuedBytes -= pending.queued.bytes;
    }
    pending.reject(new DomainError('DEADLINE_EXCEEDED', 'inference worker did not answer in time'));
  }

  /** Writes queued requests while the socket's buffer has room; waits for 'drain' again. */
  private flush(socket: Socket): void {
    if (socket.destroyed || socket !== this.socket) return; // 'close' settled the queue
    while (this.queue.length > 0 && socket.writableLength < WRITE_BUFFER_BYTES) {
      const next = this.queue.shift()!;
      if (next.dropped) continue;
      this.queuedBytes -= next.bytes;
      const pending = this.pending.get(next.id);
      if (!pending) continue; // settled by a (misbehaving) worker before it was even sent
      pending.queued = undefined;
      pending.written = true;
      writeFrame(socket, next.head, next.body);
    }
    if (this.queue.length > 0) socket.once('drain', () => this.flush(socket));
  }

  private connect(): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const socket = connect({ ...parseLinkAddress(this.address), noDelay: true });
      // (setIoDeadline: a connection established during a stall is not destroyed for it.)
      const timer = setIoDeadline(() => {
        if (socket.connecting) socket.destroy(new Error('connect timeout'));
      }, CONNECT_TIMEOUT_MS);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setKeepAlive(true, 10_000);
        // No frame either way before it; a failure destroys the socket ('close' rejects below).
        openLinkHandshake(socket, this.secret, (error) => {
          if (error) {
            this.events.handshakeFailed(this, error);
            return;
          }
          readFrames(
            socket,
            (frame) => this.settle(frame),
            (corrupt) => {
              this.closing = true;
              this.events.corrupt(this, corrupt);
            },
          );
          this.socket = socket;
          this.connecting = undefined;
          this.events.opened(this);
          resolve(socket);
        });
      });
      socket.on('error', () => undefined); // 'close' follows and settles what is pending
      socket.once('close', () => {
        clearTimeout(timer);
        const connected = this.socket === socket;
        if (connected) this.socket = undefined;
        else {
          this.connecting = undefined;
          reject(new WorkerUnreachableError(this.address, true));
        }
        this.lost();
        this.events.closed(this);
      });
    });
  }

  /** The connection is gone: settles everything pending, and reports the loss. */
  private lost(): void {
    const inFlight: InFlightVersion[] = [];
    for (const pending of this.pending.values()) {
      if (pending.written && pending.version) inFlight.push(pending.version);
    }
    const suspects = inFlight.length > 0 ? lossSuspects(inFlight, this.answered) : [];
    const blamed = new Set(suspects.map((suspect) => suspect.versionId));
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      // A written request may have reached the worker (and may be what stopped it); a queued
      // one surely did not. A written one of a version the loss is not blamed on is a bystander.
      const bystander =
        pending.written && blamed.size > 0 && !blamed.has(pending.version?.versionId ?? '');
      pending.reject(new WorkerUnreachableError(this.address, !pending.written, bystander));
    }
    this.pending.clear();
    this.untried = 0;
    this.queue = [];
    this.queuedBytes = 0;
    if (inFlight.length > 0 && !this.closing) this.events.lost(this.address, suspects);
  }

  private settle(frame: Frame): void {
    const pending = this.pending.get(frame.id);
    if (!pending) return; // timed out already
    this.pending.delete(frame.id);
    if (pending.untried) this.untried--;
    clearTimeout(pending.timer);
    if (frame.kind === FrameKind.refused) {
      // A draining worker never touched it: safe to send elsewhere.
      pending.reject(new WorkerUnreachableError(this.address, true));
      return;
    }
    if (pending.version) rememberAnswered(this.answered, pending.version.versionId);
    try {
      const meta = parseMeta<LinkResponseMeta>(frame);
      if (pending.version && meta.status === 200) {
        rememberAnswered(this.ran, pending.version.versionId);
      }
      pending.resolve({ meta, body: frame.body });
    } catch (error) {
      pending.reject(error);
    }
  }
}

/**
 * The gateway's end of the worker link (`@maas/worker-link` link-frames): one persistent
 * connection per worker, inference requests multiplexed on it as frames, bodies passed
 * through unparsed.
 */
@Injectable()
export class WorkerLinkClient implements OnModuleDestroy {
  private readonly links = new Map<string, WorkerLink>();
  /** Versions each worker address has answered, kept across its connections (WorkerLink). */
  private readonly answeredBy = new Map<string, Set<string>>();
  /**
   * Versions that ran to an answer (200) on any worker, over the link or HTTP (noteRan): what
   * untriedInFlight counts as tried. A 4xx does not count: the request may never have reached
   * the model.
   */
  private readonly ran = new Set<string>();
  private readonly lossListeners: LinkLossListener[] = [];
  private readonly events: LinkEvents;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(APP_LOGGER) private readonly logger: Logger,
    @Optional() @Inject(METRICS_REGISTRY) metrics?: Registry,
  ) {
    const connections = new Counter({
      name: 'maas_gateway_worker_link_connections_total',
      help: 'Worker link connections opened (handshake passed); a rise without new workers means links are being lost',
      registers: metrics ? [metrics] : [],
    });
    this.events = {
      opened: () => connections.inc(),
      closed: (link) => {
        if (this.links.get(link.address) === link) this.links.delete(link.address);
      },
      handshakeFailed: (link, error) =>
        this.logger.error(
          { worker: link.address, reason: error.reason, err: error },
          'worker link handshake failed: is WORKER_SECRET the same on the gateway and workers?',
        ),
      lost: (address, suspects) => {
        for (const listener of this.lossListeners) listener(address, suspects);
      },
      corrupt: (link, error) =>
        this.logger.error(
          { worker: link.address, err: error },
          'corrupt worker link stream: closed',
        ),
    };
  }

  /** Called when a connection is lost with requests written on it (VersionQuarantine). */
  onLost(listener: LinkLossListener): void {
    this.lossListeners.push(listener);
  }

  /** `version`: what the request runs, so that a lost connection can be blamed on it. */
  request(
    address: string,
    call: LinkCall,
    meta: LinkRequestMeta,
    body: Buffer,
    version?: InFlightVersion,
  ): Promise<LinkResponse> {
    return this.linkTo(address).request(
      FrameKind[call],
      meta,
      body,
      this.config.INFERENCE_TIMEOUT_MS,
      version,
    );
  }

  /**
   * Whether a request is in flight to this worker for a version that had never run to an answer
   * on any worker when it was sent: the worker is at risk of being stopped by it (a model that
   * crashes its worker does so on its first call, and again on every worker it is sent to).
   * WorkerDirectory.route sends a replicated version's requests to its other replicas
   * meanwhile, so that they are not in flight on a worker another tenant's model may stop.
   */
  untriedInFlight(address: string): boolean {
    return (this.links.get(address)?.untried ?? 0) > 0;
  }

  /** Whether a version ran to an answer (200) on some worker (untriedInFlight). */
  ranSomewhere(versionId: string): boolean {
    return this.ran.has(versionId);
  }

  /** A version ran to an answer over HTTP (the link notes its own). */
  noteRan(versionId: string): void {
    rememberAnswered(this.ran, versionId);
  }

  /**
   * Asks the worker to load the version `meta` names without running it (a `load` frame;
   * ReplicaWarmer). Never blamed for a loss of the connection: the version it names was loaded
   * and answered on another worker, and no request of a tenant rides on it.
   */
  load(address: string, meta: LinkRequestMeta): Promise<LinkResponse> {
    return this.linkTo(address).request(
      FrameKind.load,
      meta,
      NO_BODY,
      this.config.INFERENCE_TIMEOUT_MS,
    );
  }

  private linkTo(address: string): WorkerLink {
    let link = this.links.get(address);
    if (!link) {
      let answered = this.answeredBy.get(address);
      if (!answered) {
        if (this.answeredBy.size >= 1000) this.answeredBy.clear(); // workers come and go
        answered = new Set();
        this.answeredBy.set(address, answered);
      }
      link = new WorkerLink(address, this.config.WORKER_SECRET, this.events, answered, this.ran);
      this.links.set(address, link);
    }
    return link;
  }

  onModuleDestroy(): void {
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }
}
