// What a wake-up costs on this machine (run by hand, no services needed): a bare node:http
// server (reads the 15 KB body of a JSON 1-row request, answers 11 bytes) in a process of its own,
// driven over keep-alive connections by this process, at 1 connection and at 64. Prints the
// server's main-thread CPU per request (scheduler accounting, /proc/<pid>/task/<pid>/schedstat).
// At one connection every request wakes the sleeping server; at 64 a wake-up finds many
// requests waiting. The difference is the price of a wake-up, which a request through the
// platform pays several times (gateway: client request, worker answer, Redis answer; worker:
// gateway request, model thread answer).
//
//   node bench/serving/wakeup-cost.mjs [seconds] [rounds]
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { threadNanos } from '../thread-cpu.mjs';

const seconds = Number(process.argv[2] ?? 4);
const rounds = Number(process.argv[3] ?? 2);
const SERVER = `
import { createServer } from 'node:http';
const server = createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;
const body = Buffer.alloc(15_000, '1');

async function measure(connections) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', SERVER], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = Number(await new Promise((resolve) => child.stdout.once('data', resolve)));
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const send = () =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => res.resume().on('end', resolve),
      );
      req.on('error', reject);
      req.end(body);
    });
  const cpuUs = () => (threadNanos(child.pid).get(String(child.pid)) ?? 0) / 1000;
  try {
    for (let i = 0; i < 2000; i++) await send();
    const before = cpuUs();
    const started = performance.now();
    let requests = 0;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() - started < seconds * 1000) {
          await send();
          requests++;
        }
      }),
    );
    return {
      connections,
      'req/s': Math.round(requests / seconds),
      'server µs/req': Math.round((cpuUs() - before) / requests),
    };
  } finally {
    agent.destroy();
    child.kill();
  }
}

const results = [];
for (let round = 0; round < rounds; round++) {
  for (const connections of [1, 64]) results.push(await measure(connections));
}
console.table(results);
