#!/usr/bin/env node
// Peer benchmark driver for graphile-worker (see CONTRACT.md and graphile.md).
//
//   node graphile.mjs <burndown|latency|recovery> --connection <postgres url>
//        [--settings default|fast] [--concurrency 32] [--jobs N] [--timeout S]
//
// Workers run in child processes of this same file (hidden sub-command `__worker`):
// burndown and latency use ceil(concurrency / 16) processes sharing the concurrency
// (32 -> 2 x 16); recovery uses one child with the whole concurrency plus a fresh
// worker in this process. Progress goes to stderr; one JSON line goes to stdout.

import { parseContractArgs } from './contract.mjs';
import { fork } from "node:child_process";
import { EventEmitter, once } from "node:events";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import pg from "pg";

// graphile-worker logs one info line per completed job unless NO_LOG_SUCCESS is set; it is
// read when the module loads, so set it before the dynamic import. (Logging only, not a
// queue setting; both "default" and "fast" run with it.)
process.env.NO_LOG_SUCCESS ??= "1";
const gw = await import("graphile-worker");

const SELF = fileURLToPath(import.meta.url);
const SYSTEM = "graphile-worker";
const VERSION = JSON.parse(
  readFileSync(new URL("./node_modules/graphile-worker/package.json", import.meta.url), "utf8"),
).version;
const SCHEMA = "graphile_worker"; // graphile-worker's default schema
const TASK = "bench";
const PER_PROCESS_CONCURRENCY = 16; // reference topology: 2 processes x 16 at total concurrency 32
const LATENCY_SPACING_MS = 10;
const BATCH = 1000;

const log = (...a) => process.stderr.write(`[graphile ${new Date().toISOString().slice(11, 23)}] ${a.join(" ")}\n`);
const nowMs = () => performance.now();
const epochMs = () => performance.timeOrigin + performance.now();
const round = (x, d) => (x == null ? null : Math.round(x * 10 ** d) / 10 ** d);
const delay = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

// ---------------------------------------------------------------- options

const quietLogger = new gw.Logger(() => (level, message) => {
  if (level === "error" || level === "warning") log(`${level}:`, message);
});

/**
 * Worker options. "default" sets only what the benchmark needs (connection, task list,
 * concurrency) plus the pool size the docs recommend for that concurrency; "fast" adds
 * graphile-worker's documented batching settings (docs/performance "Quick stats" config).
 */
function workerOptions({ connection, settings, concurrency, events, taskList }) {
  const options = {
    connectionString: connection,
    concurrency,
    // index.d.ts (maxPoolSize): "we recommend setting it to `10` or `concurrentJobs + 2`,
    // whichever is larger". Default is 10.
    maxPoolSize: Math.max(10, concurrency + 2),
    taskList,
    parsedCronItems: [], // no crontab file lookup
    noHandleSignals: true, // the driver owns process lifetime
    logger: quietLogger,
    events,
  };
  if (settings === "fast") {
    options.preset = {
      worker: {
        localQueue: { size: 500 },
        completeJobBatchDelay: 0,
        failJobBatchDelay: 0,
      },
    };
  }
  return options;
}

// ---------------------------------------------------------------- database

function adminUrl(connection) {
  const u = new URL(connection);
  u.pathname = "/postgres";
  return u.toString();
}

async function prepareDatabase(connection) {
  const dbName = decodeURIComponent(new URL(connection).pathname.replace(/^\//, ""));
  if (!dbName) throw new Error("--connection must name a database");
  const admin = new pg.Client({ connectionString: adminUrl(connection) });
  await admin.connect();
  try {
    const { rowCount } = await admin.query("select 1 from pg_database where datname = $1", [dbName]);
    if (rowCount === 0) {
      try {
        await admin.query(`create database "${dbName.replace(/"/g, '""')}"`);
        log(`created database ${dbName}`);
      } catch (e) {
        if (e.code !== "42P04") throw e; // created concurrently
      }
    }
  } finally {
    await admin.end();
  }
  const c = new pg.Client({ connectionString: connection });
  await c.connect();
  try {
    await c.query("set client_min_messages = warning");
    await c.query(`drop schema if exists ${SCHEMA} cascade`);
  } finally {
    await c.end();
  }
  await gw.runMigrations({ connectionString: connection, logger: quietLogger });
  log(`reset schema ${SCHEMA} and ran graphile-worker migrations`);
}

// ---------------------------------------------------------------- child processes

/** Splits `total` concurrency over ceil(total/16) processes. */
function split(total) {
  const n = Math.max(1, Math.ceil(total / PER_PROCESS_CONCURRENCY));
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}

class Child {
  constructor(args, { pipeStdout = false } = {}) {
    this.proc = fork(SELF, ["__worker", ...args], {
      stdio: ["ignore", pipeStdout ? "pipe" : "inherit", "inherit", "ipc"],
    });
    this.messages = new EventEmitter();
    this.exited = false;
    this.exitCode = null;
    this.proc.on("message", (m) => this.messages.emit(m.type, m));
    this.exitPromise = new Promise((resolve) => {
      this.proc.on("exit", (code, signal) => {
        this.exited = true;
        this.exitCode = code ?? signal;
        this.messages.emit("exit", { code, signal });
        resolve();
      });
    });
    /** Rejects when the process exits (used in races while the workers must be alive). */
    this.failed = this.exitPromise.then(() => {
      throw new Error(`worker process ${this.proc.pid} exited unexpectedly (${this.exitCode})`);
    });
    this.failed.catch(() => {});
  }
  send(m) {
    if (!this.exited && this.proc.connected) this.proc.send(m);
  }
  /** Resolves with the next message of `type`; rejects if the child exits first. */
  next(type) {
    return new Promise((resolve, reject) => {
      const onMsg = (m) => {
        this.messages.off("exit", onExit);
        resolve(m);
      };
      const onExit = ({ code, signal }) => {
        this.messages.off(type, onMsg);
        reject(new Error(`worker process exited (${code ?? signal}) while waiting for '${type}'`));
      };
      this.messages.once(type, onMsg);
      this.messages.once("exit", onExit);
    });
  }
  async stop(ms = 15000) {
    if (this.exited) return;
    this.send({ type: "stop" });
    const t = setTimeout(() => {
      log(`worker process ${this.proc.pid} did not stop within ${ms} ms; killing it`);
      this.proc.kill("SIGKILL");
    }, ms);
    await this.exitPromise;
    clearTimeout(t);
  }
}

/** Races `promise` against a deadline (ms from now). */
async function withDeadline(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${round(ms / 1000, 1)} s waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function childArgs(o, mode, concurrency) {
  return ["--mode", mode, "--connection", o.connection, "--settings", o.settings, "--concurrency", String(concurrency)];
}

// ---------------------------------------------------------------- workloads

async function burndown(o) {
  await prepareDatabase(o.connection);
  const utils = await gw.makeWorkerUtils({ connectionString: o.connection, logger: quietLogger });
  const tInsert = nowMs();
  try {
    for (let i = 0; i < o.jobs; i += BATCH) {
      const specs = [];
      for (let j = i; j < Math.min(o.jobs, i + BATCH); j++) specs.push({ identifier: TASK, payload: { i: j } });
      await utils.addJobs(specs);
    }
  } finally {
    await utils.release();
  }
  const insertSeconds = (nowMs() - tInsert) / 1000;
  const db = new pg.Client({ connectionString: o.connection });
  await db.connect();
  try {
    await db.query(`analyze ${SCHEMA}._private_jobs, ${SCHEMA}._private_tasks, ${SCHEMA}._private_job_queues`);
    const { rows } = await db.query(`select count(*)::int as n from ${SCHEMA}._private_jobs`);
    if (rows[0].n !== o.jobs) throw new Error(`expected ${o.jobs} queued jobs, found ${rows[0].n}`);
    log(`inserted ${o.jobs} jobs (addJobs x ${BATCH}) in ${round((nowMs() - tInsert) / 1000, 2)} s; analyzed`);

    const shares = split(o.concurrency);
    const children = shares.map((c) => new Child(childArgs(o, "burndown", c)));
    try {
      await withDeadline(Promise.all(children.map((c) => c.next("loaded"))), 60000, "worker processes to load");

      let t0;
      let counted = 0;
      let failed = 0;
      let allCounted;
      const countedPromise = new Promise((resolve) => (allCounted = resolve));
      const failures = [];
      for (const c of children) {
        c.messages.once("running", () => log(`worker process ${c.proc.pid} running after ${round(nowMs() - t0, 1)} ms`));
        c.messages.on("completed", (m) => {
          counted += m.n;
          failed += m.failed;
          if (counted >= o.jobs) allCounted();
        });
        failures.push(c.failed);
      }
      log(`starting ${shares.length} worker process(es) x concurrency [${shares.join(", ")}], settings=${o.settings}`);
      t0 = nowMs();
      for (const c of children) c.send({ type: "start" });
      // Finished handlers are reported over IPC; the measurement ends when the database
      // shows no job rows left (graphile-worker deletes a job when it records it complete).
      await withDeadline(Promise.race([countedPromise, ...failures]), o.timeout * 1000, "the workers to run every job");
      const stillThere = async () => (await db.query(`select exists (select 1 from ${SCHEMA}._private_jobs) as x`)).rows[0].x;
      const deadline = t0 + o.timeout * 1000;
      while (await stillThere()) {
        if (nowMs() > deadline) throw new Error("timed out waiting for the last completion to reach the database");
        await new Promise((r) => setImmediate(r));
      }
      const seconds = (nowMs() - t0) / 1000;
      if (failed > 0) throw new Error(`${failed} job executions failed`);
      log(`drained ${o.jobs} jobs in ${round(seconds, 3)} s`);
      return {
        jobs: o.jobs,
        concurrency: o.concurrency,
        processes: shares.length,
        concurrencyPerProcess: shares[0],
        seconds: round(seconds, 3),
        jobsPerSecond: Math.round(o.jobs / seconds),
        insertSeconds: round(insertSeconds, 3),
      };
    } finally {
      await Promise.all(children.map((c) => c.stop()));
    }
  } finally {
    await db.end();
  }
}

async function latency(o) {
  await prepareDatabase(o.connection);
  const shares = split(o.concurrency);
  const children = shares.map((c) => new Child(childArgs(o, "latency", c)));
  const utils = await gw.makeWorkerUtils({ connectionString: o.connection, logger: quietLogger });
  try {
    await withDeadline(Promise.all(children.map((c) => c.next("loaded"))), 60000, "worker processes to load");
    const idle = Promise.all(children.map((c) => c.next("idle")));
    for (const c of children) c.send({ type: "start" });
    await withDeadline(idle, 60000, "the workers to become idle");
    log(`${shares.length} worker process(es) x concurrency [${shares.join(", ")}] idle, settings=${o.settings}`);

    const samples = [];
    let allIn;
    const allInPromise = new Promise((resolve) => (allIn = resolve));
    const failures = [];
    for (const c of children) {
      c.messages.on("latency", (m) => {
        samples.push(m.ms);
        if (samples.length >= o.jobs) allIn();
      });
      failures.push(c.failed);
    }
    await utils.addJob(TASK, { warmup: true }); // prepares the insert statement; not measured
    await withDeadline(Promise.race([new Promise((r) => children.forEach((c) => c.messages.once("warmup", r))), ...failures]), 30000, "the warm-up job");

    const t0 = nowMs();
    for (let i = 0; i < o.jobs; i++) {
      await delay(t0 + i * LATENCY_SPACING_MS - nowMs());
      const enqueuedAt = epochMs();
      await utils.addJob(TASK, { enqueuedAt });
    }
    await withDeadline(Promise.race([allInPromise, ...failures]), o.timeout * 1000, "every job to start");
    samples.sort((a, b) => a - b);
    const pct = (q) => samples[Math.max(0, Math.ceil(q * samples.length) - 1)];
    log(`${samples.length} samples`);
    return {
      jobs: o.jobs,
      concurrency: o.concurrency,
      processes: shares.length,
      concurrencyPerProcess: shares[0],
      p50Ms: round(pct(0.5), 2),
      p99Ms: round(pct(0.99), 2),
      maxMs: round(samples[samples.length - 1], 2),
    };
  } finally {
    await utils.release();
    await Promise.all(children.map((c) => c.stop()));
  }
}

const DOCUMENTED = {
  default:
    "graphile-worker docs (Error handling, 'Instantaneous exit'): jobs of a worker killed by SIGKILL stay locked for " +
    "at least 4 hours; every 8-10 min (minResetLockedInterval 480000 ms / maxResetLockedInterval 600000 ms) a running " +
    "worker releases jobs locked > 4 h, so about 4 h to 4 h 10 min. The 4 h is hard-coded in 0.18 (no option); only " +
    "the commercial Worker Pro heartbeat makes it configurable; WorkerUtils.forceUnlockWorkers(ids) is a manual unlock.",
  fast:
    "Same as default: the 4 h lock expiry is hard-coded in 0.18 and no open-source setting shortens it " +
    "(min/maxResetLockedInterval only change how often the > 4 h sweep runs). With localQueue.size 500 the crashed " +
    "process also holds queued-but-unstarted jobs locked for those 4 h; completeJobBatchDelay can leave completed jobs " +
    "locked and re-run after 4 h (index.d.ts).",
};

async function recovery(o) {
  await prepareDatabase(o.connection);
  const utils = await gw.makeWorkerUtils({ connectionString: o.connection, logger: quietLogger });
  const db = new pg.Client({ connectionString: o.connection });
  await db.connect();
  let fresh = null;
  const child = new Child(childArgs(o, "hang", o.concurrency), { pipeStdout: true });
  try {
    // The child reports over stdout lines: "pool <id>", "idle", "started <jobId>".
    const lines = new EventEmitter();
    createInterface({ input: child.proc.stdout }).on("line", (l) => {
      const [kind, arg] = l.split(" ");
      lines.emit(kind, arg);
    });
    const onceLine = (kind) =>
      Promise.race([once(lines, kind).then(([a]) => a), child.failed]);
    const poolIdP = onceLine("pool");
    const idleP = onceLine("idle");
    const poolId = await withDeadline(poolIdP, 60000, "the hanging worker to start");
    await withDeadline(idleP, 60000, "the hanging worker to become idle");
    log(`hanging worker pid ${child.proc.pid} (pool ${poolId}, concurrency ${o.concurrency}, settings=${o.settings}) idle`);

    const firstStart = onceLine("started");
    const specs = Array.from({ length: o.jobs }, (_, i) => ({ identifier: TASK, payload: { i } }));
    await utils.addJobs(specs);
    const firstJob = await withDeadline(firstStart, 60000, "the hanging worker to start a job");

    // Fresh worker (same settings) starts at the moment of the kill; it records when each job
    // starts again.
    const restarts = new Map();
    let killedIds = null;
    let onRestart = () => {};
    const freshTaskList = {
      [TASK]: (_payload, helpers) => {
        restarts.set(String(helpers.job.id), nowMs());
        onRestart();
      },
    };
    const freshEvents = new EventEmitter();
    freshEvents.on("resetLocked:success", () => log("fresh worker ran its locked-jobs sweep (releases only jobs locked > 4 h)"));

    child.proc.kill("SIGKILL");
    const tKill = nowMs();
    const freshP = gw.run(workerOptions({ connection: o.connection, settings: o.settings, concurrency: o.concurrency, events: freshEvents, taskList: freshTaskList }));
    log(`SIGKILLed the hanging worker after it started job ${firstJob}; fresh worker starting`);
    await withDeadline(child.exitPromise, 10000, "the killed process to exit");
    // Jobs whose lock by the killed pool was committed; others were never taken by it.
    const { rows } = await db.query(`select id::text as id from ${SCHEMA}._private_jobs where locked_by = $1`, [poolId]);
    killedIds = rows.map((r) => r.id);
    log(`killed worker held ${killedIds.length} locked job(s)`);
    fresh = await freshP;

    const capMs = o.timeout * 1000;
    const rerunOf = () => killedIds.filter((id) => restarts.has(id)).map((id) => restarts.get(id));
    let allBack;
    const allBackP = new Promise((resolve) => (allBack = resolve));
    onRestart = () => {
      if (rerunOf().length === killedIds.length) allBack(true);
    };
    onRestart();
    let capped = false;
    let capTimer;
    await Promise.race([
      allBackP,
      new Promise((resolve) => (capTimer = setTimeout(() => ((capped = true), resolve()), Math.max(0, tKill + capMs - nowMs())))),
    ]);
    clearTimeout(capTimer);
    const times = rerunOf().sort((a, b) => a - b);
    const first = times.length ? (times[0] - tKill) / 1000 : null;
    const last = !capped && times.length === killedIds.length ? (times[times.length - 1] - tKill) / 1000 : null;
    log(capped ? `cap of ${o.timeout} s reached; ${times.length}/${killedIds.length} killed jobs ran again` : `all killed jobs ran again`);
    return {
      jobs: o.jobs,
      concurrency: o.concurrency,
      killedJobs: killedIds.length,
      firstRerunSeconds: round(first, 3),
      lastRerunSeconds: round(last, 3),
      cappedAt: capped ? o.timeout : null,
      documented: DOCUMENTED[o.settings],
    };
  } finally {
    if (!child.exited) child.proc.kill("SIGKILL");
    if (fresh) await fresh.stop();
    await utils.release();
    await db.end();
  }
}

// ---------------------------------------------------------------- worker sub-command

async function workerMain(o) {
  const concurrency = Number(o.concurrency);
  const mode = o.mode;
  const send = (m) => process.send && process.connected && process.send(m);
  const line = (s) => process.stdout.write(`${s}\n`);
  let stopping = false;
  process.on("disconnect", () => {
    if (!stopping) process.exit(1); // parent went away
  });

  const events = new EventEmitter();
  // Idle: LISTEN is up and every worker (or the local queue) has found no job.
  let listening = false;
  let localQueueEmpty = false;
  let idleSent = false;
  const emptyWorkers = new Set();
  const checkIdle = () => {
    if (idleSent || !listening) return;
    if (o.settings === "fast" ? localQueueEmpty : emptyWorkers.size >= concurrency) {
      idleSent = true;
      if (mode === "hang") line("idle");
      else send({ type: "idle" });
    }
  };
  events.on("pool:listen:success", () => ((listening = true), checkIdle()));
  events.on("worker:getJob:empty", ({ worker }) => (emptyWorkers.add(worker.workerId), checkIdle()));
  events.on("localQueue:getJobs:complete", ({ jobs }) => {
    if (jobs.length === 0) (localQueueEmpty = true), checkIdle();
  });
  if (mode === "hang") events.on("pool:create", ({ workerPool }) => line(`pool ${workerPool.id}`));

  let taskList;
  if (mode === "burndown") {
    let n = 0;
    let failed = 0;
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      send({ type: "completed", n, failed });
      n = 0;
      failed = 0;
    };
    events.on("job:complete", ({ error }) => {
      n++;
      if (error) failed++;
      if (!scheduled) (scheduled = true), setTimeout(flush, 1);
    });
    taskList = { [TASK]: () => {} };
  } else if (mode === "latency") {
    taskList = {
      [TASK]: (payload) => {
        const now = epochMs();
        if (payload.warmup) send({ type: "warmup" });
        else send({ type: "latency", ms: now - payload.enqueuedAt });
      },
    };
  } else if (mode === "hang") {
    taskList = {
      [TASK]: (_payload, helpers) => {
        line(`started ${helpers.job.id}`);
        return new Promise(() => {}); // hangs forever
      },
    };
  } else {
    throw new Error(`unknown worker mode ${mode}`);
  }

  const options = workerOptions({ connection: o.connection, settings: o.settings, concurrency, events, taskList });
  if (mode !== "hang") {
    const started = new Promise((resolve) => process.on("message", (m) => m.type === "start" && resolve()));
    send({ type: "loaded" });
    await started;
  }
  const runner = await gw.run(options);
  if (mode !== "hang") send({ type: "running" });
  process.on("message", async (m) => {
    if (m.type !== "stop") return;
    stopping = true;
    await runner.stop();
    process.disconnect();
  });
  await runner.promise;
}

// ---------------------------------------------------------------- main

async function main() {
  // --timeout: the recovery cap (contract default 120 s); for burndown/latency a safety deadline.
  const o = parseContractArgs(process.argv.slice(2), {
    driver: "graphile.mjs",
    workloads: { burndown: { jobs: 100000, timeout: 600 }, latency: { jobs: 1000, timeout: 600 }, recovery: { jobs: 20, timeout: 120 } },
    hidden: ["__worker"],
    extra: ["mode"],
  });
  if (o.workload === "__worker") return workerMain(o);
  const run = { burndown, latency, recovery }[o.workload];
  const result = await run(o);
  process.stdout.write(
    JSON.stringify({ system: SYSTEM, version: VERSION, workload: o.workload, settings: o.settings, ...result }) + "\n",
  );
}

main().then(
  () => {
    process.exitCode = 0;
  },
  (e) => {
    process.stderr.write(`graphile.mjs: ${e?.stack ?? e}\n`);
    process.exitCode = 1;
    // Do not hang on leftover handles after a failure.
    setTimeout(() => process.exit(1), 20000).unref();
  },
);
