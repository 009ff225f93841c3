// The floor's gateway process (bench/serving/floor.mjs): a bare node:http server that reads
// each request's body whole and forwards it, with its `inference-header-content-length`, as one
// frame over a single TCP connection to the floor's worker (floor-back.mjs), then answers with
// the worker's bytes. Frames written in one turn leave in one writev. Nothing else: no API key,
// limits, metering, routing, metrics or logs.
//
//   node floor-front.mjs <worker port>   (prints its port)
import { createServer } from 'node:http';
import { connect } from 'node:net';

const [backPort] = process.argv.slice(2);
const back = connect({ host: '127.0.0.1', port: Number(backPort), noDelay: true });
await new Promise((resolve) => back.once('connect', resolve));

const waiting = new Map();
let nextId = 0;
let corked = false;
let buffered = Buffer.alloc(0);
back.on('data', (chunk) => {
  buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
  while (buffered.length >= 8) {
    const length = buffered.readUInt32LE(0);
    if (buffered.length < 8 + length) break;
    const id = buffered.readUInt32LE(4);
    const answer = buffered.subarray(8, 8 + length);
    buffered = buffered.subarray(8 + length);
    const res = waiting.get(id);
    waiting.delete(id);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': answer.length,
    });
    res.end(answer);
  }
});

createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    chunks.push(chunk);
    size += chunk.length;
  });
  req.on('end', () => {
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
    const id = (nextId = (nextId + 1) >>> 0);
    waiting.set(id, res);
    const head = Buffer.allocUnsafe(12);
    head.writeUInt32LE(body.length, 0);
    head.writeUInt32LE(id, 4);
    head.writeUInt32LE(Number(req.headers['inference-header-content-length']), 8);
    if (!corked) {
      corked = true;
      back.cork();
      setImmediate(() => {
        corked = false;
        back.uncork();
      });
    }
    back.write(head);
    back.write(body);
  });
}).listen(0, '127.0.0.1', function () {
  process.stdout.write(`${this.address().port}\n`);
});
