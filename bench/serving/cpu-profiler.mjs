// Preloaded with NODE_OPTIONS="--import <this file>" (--cpu-prof is not allowed there): profiles
// the process from SIGUSR2 to exit and writes a .cpuprofile into $MAAS_CPU_PROFILE_DIR.
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.MAAS_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  process.on('SIGUSR2', () => session.post('Profiler.start'));
  process.once('exit', () => {
    // In-process inspector messages are answered synchronously, so this completes before exit.
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
