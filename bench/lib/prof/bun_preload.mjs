// Preloaded on spliced's main thread by bench/profile_http.mjs (BUN_OPTIONS=--preload ...): every
// Worker the proxy starts (its data plane) gets bun_worker_profiler.mjs preloaded, which profiles
// that worker thread. Bun's own --cpu-prof profiles the main thread only. Changes nothing else.
const Original = globalThis.Worker;
const profiler = new URL("./bun_worker_profiler.mjs", import.meta.url).href;
if (Original && process.env.SPLICED_PROF_DIR) {
  globalThis.Worker = class ProfiledWorker extends Original {
    constructor(url, options = {}) {
      super(url, { ...options, preload: [profiler, ...[].concat(options.preload ?? [])] });
    }
  };
}
