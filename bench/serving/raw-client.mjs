// The load generator's HTTP client: keep-alive connections that write pre-serialised HTTP/1.1
// requests and read just enough of each answer (status, Content-Length or chunked end) to send
// the next. It shares the machine's two cores with the servers it measures, so it should cost as
// little as a native tool (wrk, h2load) would; a general-purpose client (undici) cost 140-300 µs
// of CPU per request here, a quarter of the platform's whole budget.
import { connect } from 'node:net';

const HEADER_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('0\r\n\r\n');

/** The bytes of one POST, made once and sent as often as needed. */
export function serialise(port, { path, headers = {}, body }) {
  const payload = Buffer.isBuffer(body) ? body : Buffer.from(body);
  let head = `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-length: ${payload.length}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`), payload]);
}

/** One connection, one request at a time; `send` resolves to the answer's status code. */
export class RawConnection {
  constructor(port) {
    this.socket = connect({ host: '127.0.0.1', port, noDelay: true });
    this.chunks = [];
    this.size = 0;
    this.waiting = undefined;
    this.socket.on('data', (chunk) => this.onData(chunk));
    const fail = (error) => {
      this.waiting?.reject(error ?? new Error('connection closed'));
      this.waiting = undefined;
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail());
  }

  send(bytes) {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(bytes);
    });
  }

  onData(chunk) {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const data = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = [data];
    const headerEnd = data.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const head = data.toString('latin1', 0, headerEnd);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let end;
    if (length) end = headerEnd + 4 + Number(length[1]);
    else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const last = data.indexOf(CHUNKED_END, headerEnd + 4);
      end = last < 0 ? Infinity : last + CHUNKED_END.length;
    } else end = headerEnd + 4;
    if (data.length < end) return;
    this.chunks = data.length > end ? [data.subarray(end)] : [];
    this.size = data.length - end;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve(status);
  }

  close() {
    this.socket.destroy();
  }
}
