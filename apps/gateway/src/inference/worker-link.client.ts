import { connect, type Socket } from 'node:net';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { DomainError, type Logger } from '@maas/app-runtime';
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
} from '@maas/workers';
import { GATEWAY_LOGGER } from '../auth/auth.service.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { WorkerUnreachableError } from './inference-worker.client.js';

const CONNECT_TIMEOUT_MS = 2000;

export interface LinkResponse {
  meta: LinkResponseMeta;
  body: Buffer;
}

interface Pending {
  resolve: (response: LinkResponse) => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout;
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

/**
 * One persistent connection to one worker's link, carrying any number of requests at once.
 * Connects on first use and again after the connection is lost; a request caught by a lost
 * connection fails with WorkerUnreachableError (the forwarder tries the next worker). A new
 * connection carries frames only after the handshake proved WORKER_SECRET both ways.
 */
class WorkerLink {
  private socket?: Socket;
  private connecting?: Promise<Socket>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(
    readonly address: string,
    private readonly secret: string,
    /** Called once the connection is gone, so an address no longer used is forgotten. */
    private readonly onClosed: (link: WorkerLink) => void,
    private readonly onHandshakeFailed: (link: WorkerLink, error: LinkHandshakeError) => void,
  ) {}

  async request(
    kind: FrameKind,
    meta: LinkRequestMeta,
    body: Buffer,
    timeoutMs: number,
  ): Promise<LinkResponse> {
    const socket = this.socket ?? (await (this.connecting ??= this.connect()));
    // Lost since (its 'close' has settled everything pending): never wrote this one.
    if (socket.destroyed) throw new WorkerUnreachableError(this.address, true);
    const id = (this.nextId = (this.nextId + 1) >>> 0);
    const answered = new Promise<LinkResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new DomainError('DEADLINE_EXCEEDED', 'inference worker did not answer in time'));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
    writeFrame(socket, frameHead(id, kind, meta, body.length), body);
    return answered;
  }

  close(): void {
    this.socket?.destroy();
  }

  private connect(): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const socket = connect({ ...parseLinkAddress(this.address), noDelay: true });
      const timer = setTimeout(
        () => socket.destroy(new Error('connect timeout')),
        CONNECT_TIMEOUT_MS,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setKeepAlive(true, 10_000);
        // No frame either way before it; a failure destroys the socket ('close' rejects below).
        openLinkHandshake(socket, this.secret, (error) => {
          if (error) {
            this.onHandshakeFailed(this, error);
            return;
          }
          readFrames(socket, (frame) => this.settle(frame));
          this.socket = socket;
          this.connecting = undefined;
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
        // Requests written on it may or may not have reached the worker.
        for (const pending of this.pending.values()) {
          clearTimeout(pending.timer);
          pending.reject(new WorkerUnreachableError(this.address, false));
        }
        this.pending.clear();
        this.onClosed(this);
      });
    });
  }

  private settle(frame: Frame): void {
    const pending = this.pending.get(frame.id);
    if (!pending) return; // timed out already
    this.pending.delete(frame.id);
    clearTimeout(pending.timer);
    if (frame.kind === FrameKind.refused) {
      // A draining worker never touched it: safe to send elsewhere.
      pending.reject(new WorkerUnreachableError(this.address, true));
      return;
    }
    try {
      pending.resolve({ meta: parseMeta<LinkResponseMeta>(frame), body: frame.body });
    } catch (error) {
      pending.reject(error);
    }
  }
}

/**
 * The gateway's end of the worker link (`@maas/workers` link-frames): one persistent
 * connection per worker, inference requests multiplexed on it as frames, bodies passed
 * through unparsed.
 */
@Injectable()
export class WorkerLinkClient implements OnModuleDestroy {
  private readonly links = new Map<string, WorkerLink>();

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(GATEWAY_LOGGER) private readonly logger: Logger,
  ) {}

  request(
    address: string,
    call: LinkCall,
    meta: LinkRequestMeta,
    body: Buffer,
  ): Promise<LinkResponse> {
    let link = this.links.get(address);
    if (!link) {
      link = new WorkerLink(
        address,
        this.config.WORKER_SECRET,
        (closed) => {
          if (this.links.get(address) === closed) this.links.delete(address);
        },
        (_link, error) =>
          this.logger.error(
            { worker: address, reason: error.reason, err: error },
            'worker link handshake failed: is WORKER_SECRET the same on the gateway and workers?',
          ),
      );
      this.links.set(address, link);
    }
    return link.request(FrameKind[call], meta, body, this.config.INFERENCE_TIMEOUT_MS);
  }

  onModuleDestroy(): void {
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }
}
