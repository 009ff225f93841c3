// What a gateway setting costs per request at low concurrency (run by hand): for each variant
// the platform is started as shipped plus that variant's gateway settings, a small model is
// served to a closed loop of keep-alive JSON requests (node:http, like the hostile suites'
// bystander), and the gateway's and worker's CPU per request are read from /proc (user and
// system apart). The variants alternate for `rounds` rounds so that drift hits them alike.
//
//   node tools/build.mjs && TEST_DATABASE_URL=… TEST_REDIS_URL=… \
//     node bench/serving/settings-cost.mjs [seconds = 6] [connections = 4] [rounds = 2]
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { buildGemmModel } from '@maas/onnx';
import { startTestPlatform, uploadModelVersion } from '@maas/testing';
import { shippedSettings } from '../shipped-settings.mjs';
import { benchTenant } from './bench-tenant.mjs';

const seconds = Number(process.argv[2] ?? 6);
const connections = Number(process.argv[3] ?? 4);
const rounds = Number(process.argv[4] ?? 2);
const VARIANTS = {
  'as shipped': {},
  'USAGE_RECORDED_BEFORE_ANSWER=false': { USAGE_RECORDED_BEFORE_ANSWER: 'false' },
  'LOG_LEVEL=warn': { LOG_LEVEL: 'warn' },
};
const BODY = Buffer.from(
  JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2], data: [3, 4] }] }),
);
const ticks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(fields[11]) * 10_000, system: Number(fields[12]) * 10_000 }; // µs
};

async function measure(settings) {
  const { env } = shippedSettings();
  const platform = await startTestPlatform({
    env: { gateway: { ...env.gateway, ...settings }, inference: env.inference },
  });
  try {
    const { key } = await benchTenant(platform, 'settings');
    const weights = [
      [1, 0],
      [0, 1],
    ];
    await uploadModelVersion(platform, key, 'm', buildGemmModel({ weights, bias: [0, 0] }));
    const agent = new Agent({ keepAlive: true, maxSockets: connections });
    const post = () =>
      new Promise((resolve, reject) => {
        const sent = request(
          `${platform.gateway.url}/v2/models/m/infer`,
          {
            method: 'POST',
            agent,
            headers: {
              'x-api-key': key,
              'content-type': 'application/json',
              'content-length': BODY.length,
            },
          },
          (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode));
          },
        );
        sent.on('error', reject);
        sent.end(BODY);
      });
    const loop = async (until, latencies) => {
      while (performance.now() < until) {
        const started = performance.now();
        const status = await post();
        if (status !== 200) throw new Error(`answered ${status}`);
        latencies.push(performance.now() - started);
      }
    };
    await Promise.all(
      Array.from({ length: connections }, () => loop(performance.now() + 2000, [])),
    );
    const pids = { gateway: platform.gateway.pid, worker: platform.inference.pid };
    const before = Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => [name, ticks(pid)]),
    );
    const latencies = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: connections }, () => loop(started + seconds * 1000, latencies)),
    );
    const wall = performance.now() - started;
    agent.destroy();
    latencies.sort((x, y) => x - y);
    const n = latencies.length;
    const cpu = Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => {
        const now = ticks(pid);
        return [
          name,
          {
            user: (now.user - before[name].user) / n,
            system: (now.system - before[name].system) / n,
          },
        ];
      }),
    );
    return {
      rps: (n * 1000) / wall,
      p50: latencies[n >> 1],
      p99: latencies[Math.ceil(n * 0.99) - 1],
      cpu,
    };
  } finally {
    await platform.stop();
  }
}

console.log(
  `${connections} connections, ${seconds} s per run after 2 s of warm-up, ${rounds} rounds`,
);
console.log(
  'variant                              req/s  p50 ms  p99 ms  gateway µs (user+sys)  worker µs',
);
for (let round = 0; round < rounds; round += 1) {
  for (const [name, settings] of Object.entries(VARIANTS)) {
    const { rps, p50, p99, cpu } = await measure(settings);
    const both = ({ user, system }) =>
      `${Math.round(user + system)} (${Math.round(user)}+${Math.round(system)})`;
    console.log(
      `${name.padEnd(36)} ${rps.toFixed(0).padStart(5)} ${p50.toFixed(2).padStart(7)} ${p99.toFixed(2).padStart(7)}  ${both(cpu.gateway).padStart(21)}  ${both(cpu.worker).padStart(9)}`,
    );
  }
}
