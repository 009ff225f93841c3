// How long one large body holds an event loop while it is read (issue 14: a tenant's large
// request must not stall the loop that answers every other tenant). Two readers, each against
// the join-at-the-end it replaced, in the same run:
//   - frames: the worker link's FrameReader fed a 14 MiB frame in 64 KiB chunks, as a socket
//     hands them over, against keeping the chunks and joining them when the last one comes;
//   - bodies: 14 MiB HTTP request bodies read over a real socket by readBody with their
//     Content-Length (as the worker reads the gateway's), against chunks joined at 'end' (as
//     Fastify's parseAs: 'buffer' did), sent by a client in a child process.
// Prints, per round, the median over 8 frames or bodies of the longest single push (frames) or of
// the reader's longest 'data'/'end' handler (bodies): the longest the reader held the loop at once.
//
//   node tools/build.mjs && node bench/link/large-bodies.mjs [rounds = 4]
import { fork } from 'node:child_process';
import { createServer, request } from 'node:http';
import { readBody } from '@maas/app-runtime';
import { FrameKind, FrameReader, frameHead } from '@maas/worker-link';

const BYTES = 14 * 1024 * 1024;
const CHUNK = 64 * 1024;

if (process.argv[2] === '--client') {
  // The sender, in a process of its own: its writes must not count as the server's delay.
  const [port, count] = process.argv.slice(3).map(Number);
  const payload = Buffer.alloc(BYTES, 3);
  for (let i = 0; i < count; i++) {
    await new Promise((resolve, reject) => {
      const sent = request(
        { host: '127.0.0.1', port, method: 'POST', headers: { 'content-length': BYTES } },
        (response) => response.resume().on('end', resolve),
      );
      sent.on('error', reject);
      sent.end(payload);
    });
  }
  process.exit(0);
}

const rounds = Number(process.argv[2] ?? 4);

/** The reader FrameReader replaced: chunks kept until the frame is whole, then joined. */
function joinAtEnd() {
  let chunks = [];
  let buffered = 0;
  return (chunk) => {
    chunks.push(chunk);
    buffered += chunk.length;
    if (buffered < 4 || buffered < 4 + chunks[0].readUInt32LE(0)) return 0;
    const frame = Buffer.concat(chunks, buffered);
    chunks = [];
    buffered = 0;
    return frame.length;
  };
}

function frameChunks() {
  const body = Buffer.alloc(BYTES + 12_345, 7);
  const frame = Buffer.concat([frameHead(1, FrameKind.infer, { m: 1 }, body.length), body]);
  const chunks = [];
  for (let at = 0; at < frame.length; at += CHUNK) {
    chunks.push(Buffer.from(frame.subarray(at, at + CHUNK)));
  }
  return chunks;
}

const ITEMS = 8;
const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];

/**
 * The median over ITEMS frames of each frame's longest push (wall clock: a push that lost its
 * core to another process now and then reads long; the median over frames leaves that out).
 */
function longestPush(reader, chunks) {
  const longest = [];
  for (let item = 0; item < ITEMS; item++) {
    const push = reader();
    let frameLongest = 0;
    for (const chunk of chunks) {
      const started = performance.now();
      push(chunk);
      frameLongest = Math.max(frameLongest, performance.now() - started);
    }
    longest.push(frameLongest);
  }
  return median(longest);
}

/**
 * The median over ITEMS bodies, sent by a client process, of the longest time the reader's own
 * 'data' or 'end' handler held the loop for each (listeners placed before and after the
 * reader's time it).
 */
async function longestHandler(read) {
  const longest = [];
  const server = createServer(async (req, res) => {
    let started = 0;
    let bodyLongest = 0;
    const before = () => (started = performance.now());
    const after = () => (bodyLongest = Math.max(bodyLongest, performance.now() - started));
    req.prependListener('data', before).prependListener('end', before);
    const reading = read(req);
    req.on('data', after).on('end', after);
    const body = await reading;
    longest.push(bodyLongest);
    res.end(String(body.length));
  }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const client = fork(new URL(import.meta.url).pathname, [
    '--client',
    String(server.address().port),
    String(ITEMS),
  ]);
  await new Promise((resolve) => client.once('exit', resolve));
  server.close();
  return median(longest);
}

/** The reader readBody replaced (Fastify's parseAs: 'buffer'): chunks joined at 'end'. */
const joinedAtEnd = (req) =>
  new Promise((resolve) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
const readIntoOne = (req) => readBody(req, 64 * 1024 * 1024, Number(req.headers['content-length']));

const chunks = frameChunks();
for (let round = 1; round <= rounds; round++) {
  const frames = {
    'joined at the end': longestPush(joinAtEnd, chunks),
    FrameReader: longestPush(() => {
      const reader = new FrameReader();
      return (chunk) => reader.push(chunk);
    }, chunks),
  };
  const bodies = {
    'joined at the end': await longestHandler(joinedAtEnd),
    readBody: await longestHandler(readIntoOne),
  };
  const ms = (figures) =>
    Object.entries(figures)
      .map(([name, value]) => `${name} ${value.toFixed(2)} ms`)
      .join(', ');
  console.log(
    `round ${round}: a 14 MiB frame's longest push: ${ms(frames)}; ` +
      `a 14 MiB body's longest handler: ${ms(bodies)} (medians over ${ITEMS})`,
  );
}
