/**
 * Preloaded into a service by the load benchmark (`NODE_OPTIONS=--require <this file>`, since
 * `--cpu-prof` is not allowed in NODE_OPTIONS): profiles the whole process with the in-process V8
 * inspector and writes a `.cpuprofile` to DYNLAB_CPU_PROFILE_OUT when the process exits. A
 * same-thread inspector session answers synchronously, so the write works in an exit handler.
 */
import * as fs from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env.DYNLAB_CPU_PROFILE_OUT;
if (out) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  process.once('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      if (!err) fs.writeFileSync(out, JSON.stringify(res.profile));
    });
  });
}
