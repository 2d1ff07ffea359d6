/**
 * deploy/: the Kubernetes manifests parse and agree with each other and with
 * the config in their ConfigMap; that config passes `spliced check` and, run
 * for real, answers the kubelet's probes and Prometheus' scrape the way they
 * ask (from outside loopback, with the pod's address as Host); the systemd unit
 * passes `systemd-analyze verify` (when there is one) and its example config
 * passes `spliced check`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import { get, httpUpstream, parseResponse, rawRequest, tempDir, writeConfig } from "./helpers/http.ts";
import { deadPort } from "./helpers/peers.ts";
import { BIN, ROOT, runCli, startSpliced } from "./helpers/spliced.ts";

const K8S = join(ROOT, "deploy", "kubernetes");
const SYSTEMD = join(ROOT, "deploy", "systemd");
/** What the kubelet sends as Host: the pod's address and the probe port. */
const POD_HOST = "10.244.1.7:9091";

// deno-lint-ignore no-explicit-any
type Doc = any;

/** Every document of every deploy/kubernetes/*.yaml, by kind; fails on a YAML error or warning. */
function manifests(): Map<string, Doc> {
  const byKind = new Map<string, Doc>();
  for (const file of readdirSync(K8S).filter((f) => f.endsWith(".yaml")).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(K8S, file), "utf8"))) {
      assert.deepEqual([...doc.errors, ...doc.warnings].map(String), [], file);
      const value = doc.toJS();
      if (value === null) continue;
      assert.ok(value.apiVersion && value.kind && value.metadata?.name, `${file}: apiVersion, kind and metadata.name`);
      assert.ok(!byKind.has(value.kind), `${file}: a second ${value.kind}`);
      byKind.set(value.kind, value);
    }
  }
  return byKind;
}

/** The config inside the ConfigMap, parsed. */
function configMapConfig(k8s: Map<string, Doc>): { key: string; text: string; config: Doc } {
  const data = k8s.get("ConfigMap").data as Record<string, string>;
  const [key] = Object.keys(data);
  return { key, text: data[key], config: JSON.parse(data[key]) };
}

/** The listener whose routes take `path` to the admin address with a loopback Host. */
function probeListener(config: Doc, path: string): Doc {
  return config.listeners.find((l: Doc) =>
    l.mode === "http" && l.routes.some((r: Doc) =>
      r.path === path && r.upstreams.length === 1 && r.upstreams[0] === config.admin.listen &&
      r.requestHeaders?.set?.Host === "localhost"
    )
  );
}

function portOf(listen: string): number {
  return Number(listen.slice(listen.lastIndexOf(":") + 1));
}

test("deploy/kubernetes: the manifests parse and agree: probes, scrape, ports, config mount, selectors", () => {
  const k8s = manifests();
  for (const kind of ["ConfigMap", "Deployment", "Service", "PodDisruptionBudget"]) assert.ok(k8s.has(kind), kind);
  const { key, config } = configMapConfig(k8s);
  const dep = k8s.get("Deployment");
  const pod = dep.spec.template;
  const [c] = pod.spec.containers;
  const portByName = new Map<string, number>(c.ports.map((p: Doc) => [p.name, p.containerPort]));
  const containerPort = (p: string | number) => typeof p === "number" ? p : portByName.get(p);

  // Probes: /ready and /healthz on a port whose listener passes them to the admin API.
  assert.equal(c.readinessProbe.httpGet.path, "/ready");
  assert.equal(c.livenessProbe.httpGet.path, "/healthz");
  for (const probe of [c.readinessProbe, c.livenessProbe]) {
    const listener = probeListener(config, probe.httpGet.path);
    assert.ok(listener, `a listener routes ${probe.httpGet.path} to admin ${config.admin.listen}`);
    assert.equal(containerPort(probe.httpGet.port), portOf(listener.listen), `${probe.httpGet.path}: probe port`);
  }
  // Prometheus annotations: the same port, and a route for the path.
  const ann = pod.metadata.annotations;
  assert.equal(ann["prometheus.io/scrape"], "true");
  const scrape = probeListener(config, ann["prometheus.io/path"]);
  assert.ok(scrape, `a listener routes ${ann["prometheus.io/path"]} to the admin API`);
  assert.equal(Number(ann["prometheus.io/port"]), portOf(scrape.listen));
  // The admin API itself stays on loopback (reads without a token there only).
  assert.match(config.admin.listen, /^127\.0\.0\.1:\d+$/);

  // The config file the container reads is the ConfigMap's key, mounted.
  const configPath = c.args[c.args.indexOf("--config") + 1];
  const volume = pod.spec.volumes.find((v: Doc) => v.configMap?.name === k8s.get("ConfigMap").metadata.name);
  assert.ok(volume, "a volume from the ConfigMap");
  const mount = c.volumeMounts.find((m: Doc) => m.name === volume.name);
  assert.equal(configPath, `${mount.mountPath}/${key}`);

  // Every container port is a listener's port; the Service targets the "web" one.
  const listenPorts = config.listeners.map((l: Doc) => portOf(l.listen));
  for (const p of c.ports) assert.ok(listenPorts.includes(p.containerPort), `containerPort ${p.containerPort} is a listener's`);
  const svc = k8s.get("Service");
  for (const p of svc.spec.ports) assert.ok(containerPort(p.targetPort) !== undefined, `Service targetPort ${p.targetPort}`);

  // Selectors match the pod's labels; the grace period outlasts spliced's.
  const labels = pod.metadata.labels;
  const matches = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
  assert.ok(matches(dep.spec.selector.matchLabels), "Deployment selector");
  assert.ok(matches(svc.spec.selector), "Service selector");
  assert.ok(matches(k8s.get("PodDisruptionBudget").spec.selector.matchLabels), "PodDisruptionBudget selector");
  const graceS = Number(/^(\d+)s$/.exec(config.gracePeriod)![1]);
  assert.ok(pod.spec.terminationGracePeriodSeconds > graceS, "terminationGracePeriodSeconds > gracePeriod");
});

test("deploy/kubernetes: the ConfigMap's config passes spliced check", { timeout: 60_000 }, async () => {
  const { key, text } = configMapConfig(manifests());
  const tmp = tempDir("spliced-deploy-");
  try {
    const file = join(tmp.dir, key);
    writeFileSync(file, text);
    const r = await runCli(["check", "--config", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${key}: ok`));
    // The one name that resolves only inside the cluster may warn; nothing else.
    const warnings = (r.stdout + r.stderr).split("\n").filter((l) => l.includes("WARNING"));
    assert.ok(warnings.every((l) => l.includes("app.default.svc.cluster.local")), warnings.join("\n"));
  } finally {
    tmp.remove();
  }
});

test("deploy/kubernetes: the probes listener answers the kubelet and Prometheus; the admin API alone refuses them", { timeout: 60_000 }, async () => {
  const { config } = configMapConfig(manifests());
  const body = randomBytes(256 * 1024);
  const app = await httpUpstream((req, res) => {
    req.resume();
    res.end(req.url === "/healthz" ? "ok" : body);
  });
  // The same config on free loopback ports, the app's upstream a real server.
  const admin = `127.0.0.1:${await deadPort()}`;
  config.admin.listen = admin;
  for (const l of config.listeners) {
    l.listen = "127.0.0.1:0";
    for (const r of l.routes) r.upstreams = r.upstreams.map((u: string) => u.startsWith("127.0.0.1:") ? admin : `127.0.0.1:${app.port}`);
  }
  config.workers = 1;
  const tmp = tempDir("spliced-deploy-");
  const proxy = await startSpliced(["--config", writeConfig(tmp.dir, config)]);
  const ask = async (port: number, target: string, host: string) => {
    const r = await rawRequest(port, get(target, { Host: host, Connection: "close" }));
    return parseResponse(r.bytes, { atEof: true })!;
  };
  try {
    const probes = proxy.ports.probes;
    const healthz = await ask(probes, "/healthz", POD_HOST);
    assert.equal(healthz.status, 200);
    assert.deepEqual(JSON.parse(healthz.body.toString()), { status: "ok" });
    const ready = await ask(probes, "/ready", POD_HOST);
    assert.equal(ready.status, 200, ready.body.toString());
    assert.equal(JSON.parse(ready.body.toString()).ready, true);
    const metrics = await ask(probes, "/metrics", POD_HOST);
    assert.equal(metrics.status, 200);
    assert.match(metrics.body.toString(), /^spliced_ready 1$/m);
    // Nothing else of the admin API is exposed there.
    assert.equal((await ask(probes, "/stats", POD_HOST)).status, 404);
    // Asked directly with the pod's Host, the loopback admin refuses: the listener's Host is what passes.
    assert.equal((await ask(portOf(admin), "/healthz", POD_HOST)).status, 403);
    // And the "web" listener proxies to the app.
    const page = await ask(proxy.ports.web, "/", "app.example");
    assert.equal(page.status, 200);
    assert.equal(createHash("sha256").update(page.body).digest("hex"), createHash("sha256").update(body).digest("hex"));
  } finally {
    assert.equal(await proxy.stop(), 0, proxy.output());
    await app.close();
    tmp.remove();
  }
});

/** `systemd-analyze`, or undefined when this machine has none. */
function systemdAnalyze(): string | undefined {
  const r = spawnSync("sh", ["-c", "command -v systemd-analyze"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
const ANALYZE = systemdAnalyze();
if (ANALYZE === undefined) console.log("systemd-analyze not installed: skipping `systemd-analyze verify` of deploy/systemd/spliced.service");

/** The unit's `Key=value` lines, values by key. */
function unitKeys(unit: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const line of unit.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) keys.set(m[1], [...(keys.get(m[1]) ?? []), m[2]]);
  }
  return keys;
}

const UNIT = readFileSync(join(SYSTEMD, "spliced.service"), "utf8");

test("deploy/systemd: spliced.service reloads by SIGHUP, restarts on failure, raises LimitNOFILE, runs the config", () => {
  const keys = unitKeys(UNIT);
  assert.deepEqual(keys.get("ExecReload"), ["/bin/kill -HUP $MAINPID"]);
  assert.deepEqual(keys.get("Restart"), ["on-failure"]);
  assert.match(keys.get("LimitNOFILE")![0], /^\d+$/);
  assert.match(keys.get("ExecStart")![0], / run --config \/etc\/spliced\/spliced\.json( |$)/);
  assert.match(keys.get("ExecStartPre")![0], / check --config \/etc\/spliced\/spliced\.json$/);
});

test("deploy/systemd: spliced.service passes systemd-analyze verify", { skip: ANALYZE === undefined && "systemd-analyze not installed", timeout: 60_000 }, () => {
  // verify also checks that ExecStart's program exists: point it at this checkout's.
  const installed = unitKeys(UNIT).get("ExecStart")![0].split(" ")[0];
  const tmp = tempDir("spliced-unit-");
  try {
    const copy = join(tmp.dir, "spliced.service");
    writeFileSync(copy, UNIT.replaceAll(installed, BIN));
    const r = spawnSync(ANALYZE!, ["verify", copy], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    // It exits 0 on unknown keys and bad values, and says so: any output is a finding.
    assert.equal((r.stdout + r.stderr).trim(), "");
  } finally {
    tmp.remove();
  }
});

test("deploy/systemd: the example spliced.json passes spliced check", { timeout: 60_000 }, async () => {
  const r = await runCli(["check", "--config", join(SYSTEMD, "spliced.json")]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /spliced\.json: ok/);
});
