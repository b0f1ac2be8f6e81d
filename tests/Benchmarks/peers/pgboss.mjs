// Benchmark driver for pg-boss (see CONTRACT.md and pgboss.md next to this file).
//
//   node pgboss.mjs <burndown|latency|recovery> --connection <postgres url> [--settings default|fast]
//                   [--concurrency N] [--jobs N] [--timeout seconds]
//
// Progress goes to stderr; exactly one JSON line goes to stdout at the end.
import { parseContractArgs } from './contract.mjs';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { PgBoss } from 'pg-boss';

const SYSTEM = 'pg-boss';
const VERSION = createRequire(import.meta.url)('pg-boss/package.json').version;
const SCHEMA = 'pgboss'; // pg-boss's default schema, which "default" keeps
const INSERT_BATCH = 1000;
const FAST_MAX_BATCH = 100; // the batch size the fast settings aim for (see pgboss.md)
const CHILD_COMMAND = '__recovery-child';
const WORKLOADS = {
  burndown: { jobs: 100000 },
  latency: { jobs: 1000 },
  recovery: { jobs: 20 }
};

const log = (...args) => console.error(`[pgboss ${new Date().toISOString().slice(11, 23)}]`, ...args);
const now = () => performance.timeOrigin + performance.now();
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Arguments

// ---------------------------------------------------------------------------------------------
// Settings. pgboss.md explains every value and where pg-boss documents it.

// --concurrency is "jobs in flight". pg-boss's localConcurrency counts fetch loops, and each loop
// holds up to batchSize jobs until its handler resolves, so jobs in flight = loops x batchSize.
function mapConcurrency(settings, concurrency) {
  if (settings === 'default') {
    // batchSize stays at its default of 1, so one loop is one job in flight.
    return { localConcurrency: concurrency, batchSize: 1 };
  }
  // Fast: batches as close to 100 as the budget allows, never more in flight than --concurrency.
  const localConcurrency = Math.ceil(concurrency / FAST_MAX_BATCH);
  return { localConcurrency, batchSize: Math.floor(concurrency / localConcurrency) };
}

function settingsFor(opts, workload) {
  const { localConcurrency, batchSize } = mapConcurrency(opts.settings, opts.concurrency);
  const constructor = { connectionString: opts.connection };
  const queue = {};
  const work = { localConcurrency };
  if (opts.settings === 'fast') {
    constructor.useListenNotify = true; // wake workers on insert instead of waiting for a poll
    queue.notify = true; // the queue has to opt in as well
    work.batchSize = batchSize;
    work.burstWhenBatchFull = true; // keep fetching while fetches come back full
    work.pollingIntervalSeconds = 0.5; // the documented minimum
    work.notifyPollingIntervalSeconds = 0.5; // ditto; retries after expiry are not NOTIFYed
    if (workload === 'recovery') {
      queue.expireInSeconds = 1; // "Must be >=1"
      constructor.superviseIntervalSeconds = 1; // the expiry sweep runs in the supervisor's monitor pass
      constructor.monitorIntervalSeconds = 1;
    }
  }
  return { constructor, queue, work, localConcurrency, batchSize };
}

// ---------------------------------------------------------------------------------------------
// Database plumbing (plain node-postgres, outside pg-boss)

function withDatabase(connection, database) {
  const url = new URL(connection);
  url.pathname = `/${database}`;
  return url.toString();
}

async function ensureDatabase(connection) {
  const database = decodeURIComponent(new URL(connection).pathname.replace(/^\//, ''));
  if (!database) throw new Error('--connection must name a database');
  const admin = new pg.Client({ connectionString: withDatabase(connection, 'postgres') });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) {
      log(`creating database ${database}`);
      try {
        await admin.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
      } catch (err) {
        if (err.code !== '42P04') throw err; // created concurrently
      }
    }
  } finally {
    await admin.end();
  }
}

async function resetSchema(pool) {
  log(`dropping schema ${SCHEMA}`);
  await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
}

// Polls `check` every `intervalMs` until it returns a truthy value or `deadline` (performance.now()
// time) passes; returns the value, or undefined on the deadline.
async function pollUntil(check, deadline, intervalMs) {
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() >= deadline) return undefined;
    await sleep(Math.max(0, Math.min(intervalMs, deadline - performance.now())));
  }
}

async function startBoss(constructorOptions) {
  const boss = new PgBoss(constructorOptions);
  boss.on('error', err => log('pg-boss error:', err?.message ?? err));
  boss.on('warning', w => log('pg-boss warning:', w?.message ?? w));
  await boss.start();
  return boss;
}

// Idle = every fetch loop of this instance has finished a fetch and holds no job.
async function waitIdle(boss, loops, timeoutMs) {
  const idle = await pollUntil(() => {
    const wip = boss.getWipData();
    return wip.length >= loops && wip.every(w => w.lastFetchedOn !== null && w.count === 0);
  }, performance.now() + timeoutMs, 5);
  if (!idle) throw new Error(`workers not idle within ${timeoutMs} ms`);
}

function percentile(sorted, p) {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

const round = (x, digits) => (x === null ? null : Number(x.toFixed(digits)));

// ---------------------------------------------------------------------------------------------
// Workloads

async function burndown(opts, pool, s) {
  const queue = 'bench_burndown';
  const boss = await startBoss(s.constructor);
  try {
    await boss.createQueue(queue, s.queue);
    log(`inserting ${opts.jobs} jobs in batches of ${INSERT_BATCH}`);
    const insertStart = performance.now();
    for (let i = 0; i < opts.jobs; i += INSERT_BATCH) {
      const count = Math.min(INSERT_BATCH, opts.jobs - i);
      await boss.insert(queue, Array.from({ length: count }, (_, k) => ({ data: { i: i + k } })));
    }
    const insertSeconds = (performance.now() - insertStart) / 1000;
    await pool.query(`ANALYZE ${SCHEMA}.job`); // the partitioned parent; ANALYZE recurses into its partitions
    const { table } = await boss.getQueue(queue);
    if (table) await pool.query(`ANALYZE ${SCHEMA}.${pg.escapeIdentifier(table)}`);

    let handled = 0;
    let allHandled, stalled;
    const handledAll = new Promise((resolve, reject) => { allHandled = resolve; stalled = reject; });
    log(`starting ${s.localConcurrency} loop(s) x batchSize ${s.batchSize}`);
    const started = performance.now();
    await boss.work(queue, s.work, async jobs => {
      handled += jobs.length;
      if (handled >= opts.jobs) allHandled();
    });

    // Progress every 5 s; give up if no job has been handled for 120 s.
    let lastHandled = 0;
    let lastProgressAt = performance.now();
    const progress = setInterval(() => {
      log(`handled ${handled}/${opts.jobs}`);
      if (handled !== lastHandled) { lastHandled = handled; lastProgressAt = performance.now(); }
      else if (performance.now() - lastProgressAt > 120000) stalled(new Error(`stalled at ${handled}/${opts.jobs} handled`));
    }, 5000);
    try {
      await handledAll;
    } finally {
      clearInterval(progress);
    }
    // The handler has seen every job; the run ends when the database has them all completed.
    const countCompleted = async () => {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.job WHERE name = $1 AND state = 'completed'`, [queue]);
      return rows[0].n >= opts.jobs;
    };
    const done = await pollUntil(countCompleted, performance.now() + 60000, 5);
    if (!done) throw new Error('jobs handled but not recorded completed within 60 s');
    const seconds = (performance.now() - started) / 1000;
    return { seconds: round(seconds, 3), jobsPerSecond: Math.round(opts.jobs / seconds), insertSeconds: round(insertSeconds, 3) };
  } finally {
    await boss.stop({ graceful: true, close: true });
  }
}

async function latency(opts, pool, s) {
  const queue = 'bench_latency';
  const boss = await startBoss(s.constructor);
  try {
    await boss.createQueue(queue, s.queue);
    const samples = [];
    let allSeen;
    let onSample = () => {};
    const seenAll = new Promise(resolve => { allSeen = resolve; });
    await boss.work(queue, s.work, async jobs => {
      const t = now();
      for (const job of jobs) samples.push(t - job.data.enqueuedAt);
      onSample();
      if (samples.length >= opts.jobs) allSeen();
    });
    await waitIdle(boss, s.localConcurrency, 30000);
    log(`workers idle (${s.localConcurrency} loop(s) x batchSize ${s.batchSize}); enqueuing ${opts.jobs} jobs 10 ms apart`);

    const begin = performance.now();
    for (let i = 0; i < opts.jobs; i++) {
      const wait = begin + i * 10 - performance.now();
      if (wait > 0) await sleep(wait); // pacing the producer, not deciding when the measurement ends
      await boss.send(queue, { enqueuedAt: now() });
    }
    // Every job has been sent. At default settings the workers drain slower than 100 jobs/s, so the
    // backlog can take a while: wait for the last job as long as jobs keep arriving, and fail only
    // when none has arrived for 60 s.
    log(`all sent; ${samples.length}/${opts.jobs} handled so far`);
    let stall;
    const outcome = await new Promise(resolve => {
      onSample = () => { clearTimeout(stall); stall = setTimeout(() => resolve(false), 60000); };
      onSample();
      seenAll.then(() => resolve(true));
    });
    clearTimeout(stall);
    if (!outcome) throw new Error(`only ${samples.length}/${opts.jobs} jobs reached the handler; none for 60 s`);

    const sorted = samples.slice(0, opts.jobs).sort((a, b) => a - b);
    return {
      p50Ms: round(percentile(sorted, 50), 2),
      p99Ms: round(percentile(sorted, 99), 2),
      maxMs: round(sorted[sorted.length - 1], 2)
    };
  } finally {
    await boss.stop({ graceful: true, close: true });
  }
}

function documentedRecovery(settings) {
  return settings === 'default'
    ? 'expireInSeconds default 900 s (15 min): an active job whose worker died is failed and retried by the ' +
      'supervisor monitor pass (superviseIntervalSeconds/monitorIntervalSeconds default 60 s) once ' +
      'started_on + 900 s has passed, then fetched on the next poll (pollingIntervalSeconds default 2 s): ~900-962 s'
    : 'expireInSeconds 1 (documented minimum, "Must be >=1") with superviseIntervalSeconds 1 and ' +
      'monitorIntervalSeconds 1 (minimums) and pollingIntervalSeconds 0.5 (minimum): retried ~1-2.5 s after the job started';
}

async function recovery(opts, pool, s) {
  const queue = 'bench_recovery';
  const app = `pgboss-bench-child-${process.pid}`;
  // The fresh worker's instance is started up front so its pool is warm; its work() call comes at the kill.
  const boss = await startBoss(s.constructor);
  let child;
  try {
    await boss.createQueue(queue, s.queue);

    log('spawning the child worker');
    child = spawn(process.execPath, [
      fileURLToPath(import.meta.url), CHILD_COMMAND,
      '--connection', opts.connection, '--settings', opts.settings,
      '--concurrency', String(opts.concurrency), '--queue', queue, '--app', app
    ], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal })));
    const childStarted = new Set();
    let onReady, onFirstStart;
    const ready = new Promise(resolve => { onReady = resolve; });
    const firstStart = new Promise(resolve => { onFirstStart = resolve; });
    createInterface({ input: child.stdout }).on('line', line => {
      const [kind, id] = line.split(' ');
      if (kind === 'ready') onReady(true);
      if (kind === 'started') { childStarted.add(id); onFirstStart(true); }
    });
    const within = (promise, ms, what) => {
      let timer;
      return Promise.race([
        promise,
        exited.then(e => { throw new Error(`child exited (${e.code ?? e.signal}) while waiting for ${what}`); }),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms); })
      ]).finally(() => clearTimeout(timer));
    };
    await within(ready, 60000, 'the child to be ready');

    log(`child ready; enqueuing ${opts.jobs} jobs`);
    await boss.insert(queue, Array.from({ length: opts.jobs }, (_, i) => ({ data: { i } })));
    await within(firstStart, opts.timeout * 1000, 'the child to start a job');

    // Kill the child and put a fresh worker with the same settings on the queue at the same moment.
    process.kill(child.pid, 'SIGKILL');
    const killedAt = performance.now();
    // The server's clock just after the kill. Every claim the child made was in a transaction that
    // began before it, so its jobs carry an earlier started_on; every claim of the fresh worker
    // begins after it. (Costs the fresh worker one round trip, ~1 ms.)
    const { rows: [{ at: killedDbTime }] } = await pool.query('SELECT clock_timestamp() AS at');
    const reruns = new Map(); // job id -> { t: performance.now() of its first start on the fresh worker, retryCount }
    let killed = null;
    let allRerun;
    const rerunAll = new Promise(resolve => { allRerun = resolve; });
    const check = () => { if (killed && [...killed].every(id => reruns.has(id))) allRerun(); };
    await boss.work(queue, s.work, async jobs => {
      const t = performance.now();
      for (const job of jobs) if (!reruns.has(job.id)) reruns.set(job.id, { t, retryCount: job.retryCount });
      check();
    });
    const { signal } = await exited;
    log(`child killed (${signal}) after it started ${childStarted.size} job(s)`);

    // The jobs the child held are the ones it claimed before the kill that are still active once its
    // connections are gone (a claim in flight at the kill may still commit, so wait for the server to
    // drop the backends first), together with those it reported starting.
    const gone = await pollUntil(async () => {
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app]);
      return rows[0].n === 0;
    }, performance.now() + 30000, 10);
    if (!gone) throw new Error("the child's connections were still open 30 s after the kill");
    const { rows } = await pool.query(
      `SELECT id FROM ${SCHEMA}.job WHERE name = $1 AND state = 'active' AND started_on < $2`, [queue, killedDbTime]);
    killed = new Set([...childStarted, ...rows.map(r => r.id)]);
    log(`${killed.size} killed job(s); waiting up to ${opts.timeout} s for them to run again`);
    check();

    let timer;
    const complete = await Promise.race([
      rerunAll.then(() => true),
      new Promise(resolve => { timer = setTimeout(() => resolve(false), Math.max(0, killedAt + opts.timeout * 1000 - performance.now())); })
    ]);
    clearTimeout(timer);
    const rerun = [...killed].filter(id => reruns.has(id)).map(id => reruns.get(id));
    const times = rerun.map(r => (r.t - killedAt) / 1000).sort((a, b) => a - b);
    log(`${rerun.length}/${killed.size} killed job(s) ran again (retryCount > 0: ${rerun.filter(r => r.retryCount > 0).length}); ` +
      `${reruns.size - rerun.length} other job(s) ran on the fresh worker`);
    return {
      killedJobs: killed.size,
      firstRerunSeconds: times.length ? round(times[0], 3) : null,
      lastRerunSeconds: complete ? round(times[times.length - 1], 3) : null,
      cappedAt: complete ? null : opts.timeout,
      documented: documentedRecovery(opts.settings)
    };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await boss.stop({ graceful: true, close: true });
  }
}

// The killed worker: same settings, a handler that never returns, one stdout line per job started.
async function recoveryChild(opts) {
  process.stdin.on('end', () => process.exit(1)); // never outlive the parent
  process.stdin.resume();
  const s = settingsFor(opts, 'recovery');
  const boss = await startBoss({ ...s.constructor, application_name: opts.app });
  await boss.work(opts.queue, s.work, async jobs => {
    process.stdout.write(jobs.map(job => `started ${job.id}\n`).join(''));
    return new Promise(() => {}); // hangs forever
  });
  await waitIdle(boss, s.localConcurrency, 30000);
  process.stdout.write('ready\n');
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const opts = parseContractArgs(process.argv.slice(2), { driver: 'pgboss.mjs', workloads: WORKLOADS, hidden: [CHILD_COMMAND], extra: ['queue', 'app'] });
  if (opts.workload === CHILD_COMMAND) return recoveryChild(opts);

  await ensureDatabase(opts.connection);
  const pool = new pg.Pool({ connectionString: opts.connection, max: 2 });
  try {
    await resetSchema(pool);
    const s = settingsFor(opts, opts.workload);
    log(`${opts.workload} settings=${opts.settings} jobs=${opts.jobs} concurrency=${opts.concurrency}: ` +
      `localConcurrency=${s.localConcurrency} batchSize=${s.batchSize}`);
    const run = { burndown, latency, recovery }[opts.workload];
    const result = await run(opts, pool, s);
    process.stdout.write(JSON.stringify({
      system: SYSTEM,
      version: VERSION,
      workload: opts.workload,
      settings: opts.settings,
      jobs: opts.jobs,
      concurrency: opts.concurrency,
      ...result,
      localConcurrency: s.localConcurrency,
      batchSize: s.batchSize
    }) + '\n');
  } finally {
    await pool.end();
  }
}

main().catch(err => {
  console.error(`pgboss.mjs failed: ${err?.stack ?? err}`);
  process.exitCode = 1;
  // Give stderr a moment, then make sure nothing left behind keeps the process alive.
  setTimeout(() => process.exit(1), 1000).unref();
});
