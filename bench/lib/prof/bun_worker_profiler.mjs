// Runs first in each spliced data-plane Worker under Bun (see bun_preload.mjs): starts the
// inspector's sampling profiler at once, and stops it at the worker's first message after
// spliced got SIGTERM (the "drain" command), writing worker-<pid>-<n>.cpuprofile and a
// .meta.json (wall clock of the profile's start, for cutting out the measured window).
// The data plane loops in epoll_wait and only yields to its event loop for messages, so a
// message is the one moment this code gets to run.
import fs from "node:fs";
import path from "node:path";
import { Session } from "node:inspector";

const dir = process.env.SPLICED_PROF_DIR;
const interval = Number(process.env.SPLICED_PROF_INTERVAL_US || 1000);
if (dir) {
  const session = new Session();
  session.connect();
  const id = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  let wallStartMs = null;
  session.post("Profiler.enable", () => {});
  session.post("Profiler.setSamplingInterval", { interval }, () => {});
  session.post("Profiler.start", () => {});
  wallStartMs = Date.now();
  let done = false;
  self.addEventListener("message", () => {
    if (done || !fs.existsSync(path.join(dir, "stop"))) return;
    done = true;
    session.post("Profiler.stop", (err, res) => {
      if (err || !res?.profile) return;
      fs.writeFileSync(path.join(dir, `worker-${id}.cpuprofile`), JSON.stringify(res.profile));
      fs.writeFileSync(path.join(dir, `worker-${id}.meta.json`), JSON.stringify({ wallStartMs, interval }));
    });
  });
}
