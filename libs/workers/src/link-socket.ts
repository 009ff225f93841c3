import type { Socket } from 'node:net';

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
