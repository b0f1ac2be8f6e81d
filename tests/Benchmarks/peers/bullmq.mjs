// Benchmark driver for BullMQ on its PostgreSQL backend (no Redis). See CONTRACT.md and bullmq.md.
//
//   node bullmq.mjs <burndown|latency|recovery|pipelines> --connection postgres://postgres@127.0.0.1:55432/bench_bullmq
//                   [--settings default|fast] [--concurrency 32] [--jobs N] [--timeout 120]
// (pipelines: --jobs counts flows of three jobs each.)
//
// Progress goes to stderr; exactly one JSON line goes to stdout at the end.
// `__recovery-child` is the hidden sub-command the recovery workload spawns (a worker whose handler hangs).

import { parseContractArgs } from './contract.mjs';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createPostgresBackend, runMigrations, withBackend } from 'bullmq';

const { Queue, Worker, FlowProducer } = withBackend(createPostgresBackend);
const VERSION = createRequire(import.meta.url)('bullmq/package.json').version;
const SYSTEM = 'bullmq';
const QUEUE = 'bench';
const SCHEMA = 'bullmq'; // the backend's default schema (DEFAULT_SCHEMA), i.e. what "default" gets
const WORKLOADS = { burndown: { jobs: 100000 }, latency: { jobs: 1000 }, recovery: { jobs: 20 }, pipelines: { jobs: 2000 } };

// Fast recovery settings. BullMQ documents no lower bound for either value (worker-options.d.ts only gives the
// 30000 ms defaults; the constructor only requires stalledInterval > 0), so "fast" uses one second for both: the
// lock is still renewed every 500 ms (lockRenewTime defaults to lockDuration / 2), which leaves a busy event loop
// or a queued pool connection room before a live job is falsely declared stalled (see bullmq.md).
const FAST_LOCK_MS = 1000;
const FAST_STALLED_INTERVAL_MS = 1000;

const now = () => performance.timeOrigin + performance.now(); // epoch ms with sub-ms resolution
const log = (...args) => console.error('[bullmq]', ...args);
const round = (x, digits = 2) => (x == null ? null : Math.round(x * 10 ** digits) / 10 ** digits);

// ---------------------------------------------------------------------------------------------------------------
// Arguments

// ---------------------------------------------------------------------------------------------------------------
// BullMQ settings

/**
 * "default": BullMQ's defaults plus only what the PostgreSQL backend requires (a connection; the schema itself is
 * created by runMigrations in reset()). "fast": a pool large enough for the concurrency (postgresql.md, "Size the
 * pool"), removeOnComplete (postgresql.md, "Let retention do its work") and the short lock / stalled interval.
 */
function bullmqOptions(opts) {
  if (opts.settings === 'default') {
    return { connection: opts.connection, worker: {}, job: {} };
  }
  return {
    // +2: the worker's own fetch and lock-renewal queries run alongside the concurrency finishes.
    connection: { connectionString: opts.connection, max: opts.concurrency + 2 },
    worker: { lockDuration: FAST_LOCK_MS, stalledInterval: FAST_STALLED_INTERVAL_MS },
    job: { removeOnComplete: true },
  };
}

function documentedRecovery(settings) {
  if (settings === 'default') {
    return 'lockDuration 30000 ms (renewed every 15000 ms) and stalledInterval 30000 ms (WorkerOptions defaults, ' +
      'maxStalledCount 1); docs: jobs of a killed worker "will be marked as stalled and processed automatically when ' +
      'new workers come online (with a waiting time of about 30 seconds by default)". The PostgreSQL backend reclaims ' +
      'a job on the stalled check after the one that marked it, once its lock has expired: about 30-90 s';
  }
  return `lockDuration ${FAST_LOCK_MS} ms (renewed every ${FAST_LOCK_MS / 2} ms) and stalledInterval ` +
    `${FAST_STALLED_INTERVAL_MS} ms (no documented minimum; defaults 30000/30000). Reclaimed on the stalled check ` +
    `after the one that marked it, once its lock has expired: about ${FAST_LOCK_MS / 1000}-` +
    `${(FAST_LOCK_MS + 2 * FAST_STALLED_INTERVAL_MS) / 1000} s`;
}

function newWorker(opts, bull, processor, extra = {}) {
  const worker = new Worker(QUEUE, processor, {
    connection: bull.connection,
    concurrency: opts.concurrency,
    ...bull.worker,
    ...extra,
  });
  worker.on('error', err => log('worker error:', err?.message ?? err));
  return worker;
}

function newQueue(bull) {
  const queue = new Queue(QUEUE, { connection: bull.connection, defaultJobOptions: bull.job });
  queue.on('error', err => log('queue error:', err?.message ?? err));
  return queue;
}

// ---------------------------------------------------------------------------------------------------------------
// Database

function databaseName(connection) {
  const name = decodeURIComponent(new URL(connection).pathname.replace(/^\//, ''));
  if (!name) throw new Error('the --connection URL must name a database (e.g. /bench_bullmq)');
  return name;
}

async function withClient(connection, fn) {
  const client = new pg.Client({ connectionString: connection });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function ensureDatabase(connection) {
  const name = databaseName(connection);
  const admin = new URL(connection);
  admin.pathname = '/postgres';
  await withClient(admin.toString(), async client => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount > 0) return;
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      log(`created database ${name}`);
    } catch (err) {
      if (err.code !== '42P04' && err.code !== '23505') throw err; // created concurrently
    }
  });
}

/** Drops BullMQ's schema (all its tables, functions and the migration ledger) and migrates it afresh. */
async function reset(connection) {
  await ensureDatabase(connection);
  await withClient(connection, async client => {
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    // BullMQ 6.7 does not migrate on connect unless asked; runMigrations is the documented explicit step.
    const version = await runMigrations(client, SCHEMA);
    log(`schema ${SCHEMA} reset, migrated to version ${version}`);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** A promise plus its resolve function. */
function signal() {
  let resolve;
  const promise = new Promise(r => { resolve = r; });
  return { promise, resolve };
}

/** `promise`, or a rejection after `ms`. */
function within(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${Math.round(ms / 1000)} s waiting for ${what}`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** Polls `check` every `everyMs` until it returns truthy; throws at the deadline. */
async function pollUntil(check, { timeoutMs, everyMs = 20, what }) {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() > end) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Resolves once the worker has drained the queue and its dedicated LISTEN connection is parked on LISTEN. */
async function waitUntilIdle(worker, connection) {
  const drained = signal();
  worker.once('drained', drained.resolve);
  await within(drained.promise, 60_000, 'the worker to drain');
  await withClient(connection, client => pollUntil(async () => {
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = $1 AND state = 'idle' AND position('LISTEN bullmq_jobs' in query) > 0`,
      [QUEUE]);
    return rows[0].n > 0;
  }, { timeoutMs: 30_000, what: 'the worker to LISTEN' }));
}

function percentile(sorted, p) { // nearest rank, like tests/Benchmarks/Percentiles.cs
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(Math.max(rank, 0), sorted.length - 1)];
}

async function jobCounts(connection) {
  return withClient(connection, async client => {
    const { rows } = await client.query(
      `SELECT state::text AS state, count(*)::int AS n FROM ${SCHEMA}.job WHERE queue = $1 GROUP BY state`, [QUEUE]);
    return Object.fromEntries(rows.map(r => [r.state, r.n]));
  });
}

function result(opts, fields) {
  return { system: SYSTEM, version: VERSION, workload: opts.workload, settings: opts.settings, jobs: opts.jobs, concurrency: opts.concurrency, ...fields };
}

// ---------------------------------------------------------------------------------------------------------------
// Workloads

async function burndown(opts) {
  const bull = bullmqOptions(opts);
  await reset(opts.connection);

  const queue = newQueue(bull);
  const insertStart = performance.now();
  for (let sent = 0; sent < opts.jobs; sent += 1000) {
    const batch = Array.from({ length: Math.min(1000, opts.jobs - sent) }, () => ({ name: 'noop', data: {} }));
    await queue.addBulk(batch);
  }
  const insertSeconds = (performance.now() - insertStart) / 1000;
  log(`inserted ${opts.jobs} jobs in ${insertSeconds.toFixed(1)} s`);
  await queue.close();
  await withClient(opts.connection, client => client.query(`ANALYZE ${SCHEMA}.job`));

  let completed = 0;
  let stalled = 0;
  let failed = 0;
  const allDone = signal();
  if (opts.jobs === 0) allDone.resolve(performance.now());

  const start = performance.now();
  const worker = newWorker(opts, bull, async () => {});
  worker.on('completed', () => { if (++completed === opts.jobs) allDone.resolve(performance.now()); });
  worker.on('failed', (job, err) => { failed++; log(`job ${job?.id} failed: ${err?.message}`); });
  worker.on('stalled', () => { stalled++; });
  const progress = setInterval(() => log(`${completed}/${opts.jobs} completed`), 5000);
  let end;
  try {
    end = await within(allDone.promise, 30 * 60_000, `${opts.jobs} completions`);
  } finally {
    clearInterval(progress);
    await worker.close();
  }
  const seconds = (end - start) / 1000;

  // The 'completed' event is emitted after the job's finish transaction committed; check the table agrees.
  const counts = await jobCounts(opts.connection);
  const expectCompleted = bull.job.removeOnComplete ? 0 : opts.jobs;
  const left = Object.entries(counts).filter(([state]) => state !== 'completed').reduce((n, [, c]) => n + c, 0);
  if ((counts.completed ?? 0) !== expectCompleted || left !== 0 || failed !== 0) {
    throw new Error(`database disagrees after the drain: ${JSON.stringify(counts)}, ${failed} failed`);
  }
  if (stalled > 0) log(`warning: ${stalled} jobs were reported stalled during the drain`);
  log(`burndown: ${opts.jobs} jobs in ${seconds.toFixed(2)} s = ${Math.round(opts.jobs / seconds)} jobs/s`);
  return result(opts, { seconds: round(seconds, 3), jobsPerSecond: Math.round(opts.jobs / seconds), stalledJobs: stalled, insertSeconds: round(insertSeconds, 3) });
}

async function latency(opts) {
  const bull = bullmqOptions(opts);
  await reset(opts.connection);

  const latencies = [];
  const allSeen = signal();
  if (opts.jobs === 0) allSeen.resolve();
  const worker = newWorker(opts, bull, async job => {
    latencies.push(now() - job.data.enqueuedAt);
    if (latencies.length === opts.jobs) allSeen.resolve();
  });
  const queue = newQueue(bull);
  try {
    await queue.waitUntilReady();
    await waitUntilIdle(worker, opts.connection);
    log(`worker idle; enqueuing ${opts.jobs} jobs 10 ms apart`);

    const start = performance.now();
    for (let i = 0; i < opts.jobs; i++) {
      const wait = start + i * 10 - performance.now();
      if (wait > 0) await sleep(wait);
      await queue.add('noop', { enqueuedAt: now() });
    }
    await within(allSeen.promise, 60_000, `the last ${opts.jobs - latencies.length} jobs to start`).catch(async err => {
      log(`job states at the timeout: ${JSON.stringify(await jobCounts(opts.connection))}`);
      throw err;
    });
  } finally {
    await worker.close();
    await queue.close();
  }

  const sorted = [...latencies].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  const max = sorted[sorted.length - 1];
  log(`latency: p50 ${p50?.toFixed(2)} ms, p99 ${p99?.toFixed(2)} ms, max ${max?.toFixed(2)} ms`);
  return result(opts, { p50Ms: round(p50), p99Ms: round(p99), maxMs: round(max) });
}

/**
 * Spawns the hanging worker. `ready` resolves with its worker id; `startedCount(n)` resolves once it has started
 * n jobs (it prints one STARTED line per job); both reject if the child dies before we kill it.
 */
function spawnDoomedWorker(opts) {
  const args = [fileURLToPath(import.meta.url), '__recovery-child', '--connection', opts.connection,
    '--settings', opts.settings, '--concurrency', String(opts.concurrency), '--timeout', String(opts.timeout)];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const handle = { child, killedByUs: false, started: 0 };
  handle.exited = new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal })));
  const earlyExit = handle.exited.then(({ code, signal }) => {
    if (!handle.killedByUs) throw new Error(`child worker exited early (code ${code}, signal ${signal})`);
    return new Promise(() => {});
  });
  earlyExit.catch(() => {});
  const ready = signal();
  const waiters = [];
  handle.lines = createInterface({ input: child.stdout });
  handle.lines.on('line', line => {
    const [tag, value] = line.split(' ');
    if (tag === 'READY') ready.resolve(value);
    if (tag === 'STARTED') {
      handle.started++;
      for (const w of waiters) if (handle.started >= w.n) w.resolve(handle.started);
    }
  });
  handle.ready = Promise.race([ready.promise, earlyExit]);
  handle.startedCount = n => {
    const w = { n, ...signal() };
    waiters.push(w);
    if (handle.started >= n) w.resolve(handle.started);
    return Promise.race([w.promise, earlyExit]);
  };
  return handle;
}

async function recovery(opts) {
  const bull = bullmqOptions(opts);
  await reset(opts.connection);

  const doomed = spawnDoomedWorker(opts);
  let fresh;
  let queue;
  try {
    const doomedWorkerId = await within(doomed.ready, 60_000, 'the child worker to be ready');
    log(`child worker ${doomed.child.pid} ready (worker id ${doomedWorkerId})`);

    // The fresh worker: connected and ready, started (run()) at the moment of the kill.
    let killed = null; // Set of job ids the child held when it died
    const rerunAt = new Map(); // job id -> first start on the fresh worker (performance.now())
    let rerunAsStalled = 0; // reruns the backend counted as recovered from a stall (job.stalledCounter)
    const allRerun = signal();
    fresh = newWorker(opts, bull, async job => {
      if (!rerunAt.has(job.id)) {
        rerunAt.set(job.id, performance.now());
        if (job.stalledCounter > 0) rerunAsStalled++;
      }
      if (killed && [...killed].every(id => rerunAt.has(id))) allRerun.resolve();
    }, { autorun: false });
    await fresh.waitUntilReady();

    queue = newQueue(bull);
    await queue.addBulk(Array.from({ length: opts.jobs }, () => ({ name: 'noop', data: {} })));
    log(`enqueued ${opts.jobs} jobs`);

    // The contract asks for at least one started job; like the Orleans.Jobs side we let the child take up to its
    // concurrency first (it claims them within milliseconds), so the kill strands a full worker's worth of jobs.
    await within(doomed.startedCount(1), 60_000, 'the child worker to start a job');
    const target = Math.min(opts.jobs, opts.concurrency);
    await within(doomed.startedCount(target), 10_000, `the child worker to start ${target} jobs`).catch(() => {});

    doomed.killedByUs = true;
    const killedAt = performance.now();
    process.kill(doomed.child.pid, 'SIGKILL');
    fresh.run().catch(err => log('fresh worker run failed:', err?.message ?? err));
    log(`child had started ${doomed.started} jobs; SIGKILLed it and started the fresh worker`);

    await doomed.exited;
    // Jobs the dead child still holds: active, locked with one of its tokens ("<workerId>:<n>").
    killed = new Set(await withClient(opts.connection, async client => {
      const { rows } = await client.query(
        `SELECT id FROM ${SCHEMA}.job WHERE queue = $1 AND state = 'active' AND lock_token LIKE $2`,
        [QUEUE, `${doomedWorkerId}:%`]);
      return rows.map(r => r.id);
    }));
    log(`${killed.size} jobs were held by the killed worker`);
    if ([...killed].every(id => rerunAt.has(id))) allRerun.resolve();

    const remaining = Math.max(0, killedAt + opts.timeout * 1000 - performance.now());
    let capped = false;
    await within(allRerun.promise, remaining, 'reruns').catch(() => { capped = true; });

    const times = [...killed].filter(id => rerunAt.has(id)).map(id => rerunAt.get(id) - killedAt);
    const first = times.length ? Math.min(...times) / 1000 : null;
    const last = !capped && times.length === killed.size && killed.size > 0 ? Math.max(...times) / 1000 : null;
    if (killed.size === 0) throw new Error('the killed worker held no jobs');
    log(`${rerunAsStalled} of the jobs the fresh worker ran came back through the stalled-job check`);
    log(capped
      ? `capped at ${opts.timeout} s: ${times.length}/${killed.size} killed jobs rerun` + (first != null ? `, first after ${first.toFixed(2)} s` : '')
      : `all ${killed.size} killed jobs rerun: first after ${first.toFixed(2)} s, last after ${last.toFixed(2)} s`);
    return result(opts, {
      killedJobs: killed.size,
      firstRerunSeconds: round(first),
      lastRerunSeconds: round(last),
      cappedAt: capped ? opts.timeout : null,
      documented: documentedRecovery(opts.settings),
    });
  } finally {
    if (doomed.child.exitCode === null && doomed.child.signalCode === null) {
      doomed.killedByUs = true;
      doomed.child.kill('SIGKILL');
    }
    doomed.lines.close();
    if (fresh) await fresh.close();
    if (queue) await queue.close();
  }
}

// The proof pipeline of Orleans.Jobs (tests/ClusterProcess/ProofPipeline.cs: Seed → [Double, Sum], Double → Sum) as a
// BullMQ flow. A flow is a tree whose parents run after their children, and Sum has two predecessors, so no tree holds
// the DAG as drawn; its transitive reduction is the chain Seed → Double → Sum, which is the tree sum ← double ← seed.
// The Seed → Sum edge holds through Double, which passes Seed's value on with its own. Each job reads its child's
// result with getChildrenValues, as each Orleans.Jobs step reads its predecessors' results from the pipeline store.
const STARTS_IN_FLIGHT = 50; // flows added at once, as the Orleans.Jobs side starts 50 pipelines at once

function proofFlow(n, jobOpts) {
  const node = (name, children) => ({ name, queueName: QUEUE, data: { n }, opts: jobOpts, ...(children ? { children } : {}) });
  return node('sum', [node('double', [node('seed')])]);
}

async function childValue(job) {
  const values = Object.values(await job.getChildrenValues());
  if (values.length !== 1) throw new Error(`job ${job.id} (${job.name}) has ${values.length} child results, not 1`);
  return values[0];
}

const PROOF_STEPS = {
  seed: async job => ({ a: job.data.n }),
  double: async job => {
    const { a } = await childValue(job);
    return { a, b: 2 * a };
  },
  sum: async job => {
    const { a, b } = await childValue(job);
    return { c: a + b };
  },
};

/** Transaction ids handed out and WAL bytes written by the whole server so far (what a workload cost it). */
async function serverWork(connection) {
  return withClient(connection, async client => {
    const { rows } = await client.query(
      `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xid, (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS wal`);
    return { xid: Number(rows[0].xid), wal: Number(rows[0].wal) };
  });
}

/**
 * --jobs proof flows (three no-op jobs each) added 50 at a time by a FlowProducer while one worker of --concurrency
 * runs them; timed from the first add until every flow's last job (sum) completed. Every sum is checked: c = 3n.
 */
async function pipelines(opts) {
  const bull = bullmqOptions(opts);
  await reset(opts.connection);

  let finished = 0;
  let failed = 0;
  let wrong = 0;
  const allDone = signal();
  if (opts.jobs === 0) allDone.resolve(performance.now());
  const worker = newWorker(opts, bull, job => PROOF_STEPS[job.name](job));
  worker.on('completed', (job, value) => {
    if (job.name !== 'sum') return;
    if (value?.c !== 3 * job.data.n) wrong++;
    if (++finished === opts.jobs) allDone.resolve(performance.now());
  });
  worker.on('failed', (job, err) => { failed++; log(`job ${job?.id} (${job?.name}) failed: ${err?.message}`); });
  const flows = new FlowProducer({ connection: bull.connection });
  flows.on('error', err => log('flow producer error:', err?.message ?? err));
  await worker.waitUntilReady();
  await flows.waitUntilReady();

  const before = await serverWork(opts.connection);
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const progress = setInterval(() => log(`${finished}/${opts.jobs} flows finished`), 5000);
  let end;
  let cpu;
  let after;
  try {
    for (let sent = 0; sent < opts.jobs; sent += STARTS_IN_FLIGHT) {
      const chunk = Array.from({ length: Math.min(STARTS_IN_FLIGHT, opts.jobs - sent) }, (_, i) => flows.add(proofFlow(sent + i, bull.job)));
      await Promise.all(chunk);
    }
    end = await within(allDone.promise, 30 * 60_000, `${opts.jobs} flows to finish`);
    cpu = process.cpuUsage(cpuBefore);
    after = await serverWork(opts.connection);
  } finally {
    clearInterval(progress);
    await worker.close();
    await flows.close();
  }
  const seconds = (end - start) / 1000;

  const counts = await jobCounts(opts.connection);
  const expectCompleted = bull.job.removeOnComplete ? 0 : 3 * opts.jobs;
  const left = Object.entries(counts).filter(([state]) => state !== 'completed').reduce((n, [, c]) => n + c, 0);
  if ((counts.completed ?? 0) !== expectCompleted || left !== 0 || failed !== 0 || wrong !== 0) {
    throw new Error(`database disagrees after the flows: ${JSON.stringify(counts)}, ${failed} failed, ${wrong} wrong sums`);
  }
  log(`pipelines: ${opts.jobs} flows in ${seconds.toFixed(2)} s = ${Math.round(opts.jobs / seconds)} flows/s`);
  return result(opts, {
    jobs: 3 * opts.jobs,
    pipelines: opts.jobs,
    seconds: round(seconds, 3),
    pipelinesPerSecond: round(opts.jobs / seconds, 1),
    jobsPerSecond: Math.round((3 * opts.jobs) / seconds),
    writeTransactions: after.xid - before.xid,
    walBytes: after.wal - before.wal,
    cpuSeconds: round((cpu.user + cpu.system) / 1e6, 3),
  });
}

/** Hidden sub-command: a worker whose handler reports the job and then hangs forever. */
async function recoveryChild(opts) {
  const bull = bullmqOptions(opts);
  // Never outlive the parent: it holds our stdin open; also a hard lifetime cap.
  process.stdin.on('end', () => process.exit(1));
  process.stdin.resume();
  setTimeout(() => process.exit(1), (opts.timeout + 300) * 1000).unref();

  const worker = newWorker(opts, bull, async job => {
    process.stdout.write(`STARTED ${job.id}\n`);
    return new Promise(() => {});
  });
  await worker.waitUntilReady();
  await waitUntilIdle(worker, opts.connection);
  process.stdout.write(`READY ${worker.id}\n`);
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const opts = parseContractArgs(process.argv.slice(2), { driver: 'bullmq.mjs', workloads: WORKLOADS, hidden: ['__recovery-child'] });
  if (opts.workload === '__recovery-child') return recoveryChild(opts);
  log(`${opts.workload} settings=${opts.settings} jobs=${opts.jobs} concurrency=${opts.concurrency}`);
  const run = { burndown, latency, recovery, pipelines }[opts.workload];
  const output = await run(opts);
  process.stdout.write(JSON.stringify(output) + '\n');
}

main().catch(err => {
  console.error('[bullmq] failed:', err?.stack ?? err);
  process.exitCode = 1;
  // Give pending closes a moment, then make sure we exit even if some handle is still open.
  setTimeout(() => process.exit(1), 2000).unref();
});
