import type { Socket } from 'node:net';
import { type Frame, FrameReader } from './link-frames.js';

const corked = new WeakSet<Socket>();

function uncork(socket: Socket): void {
  corked.delete(socket);
  socket.uncork();
}

/**
 * Writes a frame (head, then body) on a link socket. Every frame written in the same turn of the
 * event loop leaves in one writev, flushed once the loop has handled all I/O that was ready:
 * under load one system call carries many requests or answers.
 */
export function writeFrame(socket: Socket, head: Buffer, body?: Buffer): void {
  if (socket.destroyed) return;
  if (!corked.has(socket)) {
    corked.add(socket);
    socket.cork();
    setImmediate(uncork, socket);
  }
  socket.write(head);
  if (body && body.length > 0) socket.write(body);
}

/**
 * Hands each frame arriving on a link socket to `onFrame`, in order. A corrupt stream (a length
 * past MAX_FRAME_BYTES, meta overrunning its frame) cannot be resynchronised: the socket is
 * destroyed with the error, after `onCorrupt` has seen it.
 */
export function readFrames(
  socket: Socket,
  onFrame: (frame: Frame) => void,
  onCorrupt: (error: Error) => void = () => undefined,
): void {
  const reader = new FrameReader();
  socket.on('data', (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = reader.push(chunk);
    } catch (error) {
      onCorrupt(error as Error);
      socket.destroy(error as Error);
      return;
    }
    for (const frame of frames) onFrame(frame);
  });
}
