// Idle benchmark (run by hand, not in CI): is an idle platform idle? Starts the platform as
// shipped (bench/shipped-settings.mjs), serves a short load so that every lazy path has run
// (caches, links, pools), waits for the load's after-effects (usage flush, batching timers),
// then measures each app's CPU over a window from /proc/<pid>/stat (utime + stime) and prints
// it as a percentage of one core against the 0.5 % target.
//
//   node tools/build.mjs && TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:55432/postgres \
//     TEST_REDIS_URL=redis://127.0.0.1:56379 node bench/idle/run.mjs [window seconds, 60]
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildMlpModel, randomMlp } from '@maas/onnx';
import { createTenantWithKey, startTestPlatform, uploadModelVersion } from '@maas/testing';
import { shippedSettings } from '../shipped-settings.mjs';
import { threadNanos } from '../thread-cpu.mjs';

const WINDOW_S = Number(process.argv[2] ?? 60);
const LOAD_S = Number(process.env.IDLE_LOAD_SECONDS ?? 5);
const SETTLE_S = Number(process.env.IDLE_SETTLE_SECONDS ?? 10);
const TARGET_PERCENT = 0.5;
const TICKS_PER_SECOND = 100; // USER_HZ: Linux reports utime/stime in 1/100 s everywhere

/** utime + stime of a process (all its threads), in seconds. */
function cpuSecondsOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // fields 14, 15 of stat
}

/**
 * CPU nanoseconds of a process's threads: its main thread (the event loop) as `main`, the others
 * by thread name, threads of one name summed (V8's helper threads are all `node`).
 */
function threadNanosOf(pid) {
  const byName = new Map();
  for (const [tid, ns] of threadNanos(pid)) {
    let name = 'main';
    if (tid !== String(pid)) {
      try {
        name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      } catch {
        continue; // the thread ended
      }
    }
    byName.set(name, (byName.get(name) ?? 0) + ns);
  }
  return byName;
}

const { env, notes } = shippedSettings();
for (const note of notes) console.log(`as shipped: ${note}`);
const platform = await startTestPlatform({ env });
try {
  const gw = platform.gateway.url;
  const post = async (path, body, headers = {}) =>
    fetch(gw + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const { key } = await createTenantWithKey(platform, 'idle');
  await uploadModelVersion(
    platform,
    key,
    'mlp',
    buildMlpModel({ layers: randomMlp([784, 64, 10], 7) }),
  );
  const body = JSON.stringify({
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], data: Array(784).fill(0.5) }],
  });
  let answered = 0;
  const end = Date.now() + LOAD_S * 1000;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (Date.now() < end) {
        const response = await post('/v2/models/mlp/infer', JSON.parse(body), { 'x-api-key': key });
        await response.arrayBuffer();
        if (response.status === 200) answered++;
      }
    }),
  );
  console.log(`load: ${answered} answered in ${LOAD_S} s; settling ${SETTLE_S} s`);
  await sleep(SETTLE_S * 1000);
  const apps = { gateway: platform.gateway, worker: platform.inference, trainer: platform.trainer };
  const before = Object.fromEntries(Object.entries(apps).map(([n, a]) => [n, cpuSecondsOf(a.pid)]));
  const started = performance.now();
  // Each app's CPU by thread in sub-windows (scheduler nanoseconds), to tell a steady cost from
  // a burst (a collection) and say which thread it was on.
  const SUB_S = Number(process.env.IDLE_SUB_SECONDS ?? 15);
  let last = Object.fromEntries(Object.entries(apps).map(([n, a]) => [n, threadNanosOf(a.pid)]));
  const subWindows = [];
  for (let at = 0; at < WINDOW_S; at += SUB_S) {
    await sleep(Math.min(SUB_S, WINDOW_S - at) * 1000);
    const now = Object.fromEntries(Object.entries(apps).map(([n, a]) => [n, threadNanosOf(a.pid)]));
    subWindows.push(
      Object.fromEntries(
        Object.keys(apps).map((name) => {
          const busy = [...now[name]]
            .map(([thread, ns]) => [thread, (ns - (last[name].get(thread) ?? 0)) / 1e6])
            .filter(([, ms]) => ms >= 1)
            .sort((x, y) => y[1] - x[1])
            .map(([thread, ms]) => `${thread} ${ms.toFixed(0)}`);
          return [name, busy.join(', ') || '—'];
        }),
      ),
    );
    last = now;
  }
  const seconds = (performance.now() - started) / 1000;
  const rows = Object.entries(apps).map(([name, app]) => {
    const percent = (100 * (cpuSecondsOf(app.pid) - before[name])) / seconds;
    return {
      app: name,
      'CPU % of a core': +percent.toFixed(2),
      target: `<= ${TARGET_PERCENT}`,
      met: percent <= TARGET_PERCENT ? 'yes' : 'NO',
    };
  });
  console.log(`CPU ms by thread in each ${SUB_S} s sub-window:`);
  console.table(subWindows);
  console.log(`idle over ${seconds.toFixed(1)} s (noisy on a shared machine):`);
  console.table(rows);
} finally {
  await platform.stop();
}
