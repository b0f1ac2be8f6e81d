// The command line of every peer driver (CONTRACT.md), parsed in one place:
//   node <driver>.mjs <workload> --connection <url> [--settings default|fast] [--concurrency N] [--jobs N] [--timeout s]
// A driver passes its workloads with their default job counts and timeouts, the hidden sub-commands it runs in
// child processes, and the extra options only those children take.
export function parseContractArgs(argv, { driver, workloads, hidden = [], extra = [] }) {
  const [workload, ...rest] = argv;
  const opts = { workload, settings: 'default', concurrency: 32 };
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i];
    const value = rest[i + 1];
    if (!key.startsWith('--') || value === undefined || value.startsWith('--')) throw new Error(`bad argument '${key}': options are --name value`);
    const name = key.slice(2);
    if (name === 'concurrency') opts.concurrency = integer(key, value, 1);
    else if (name === 'jobs') opts.jobs = integer(key, value, 0);
    else if (name === 'timeout') opts.timeout = positive(key, value);
    else if (name === 'connection' || name === 'settings' || extra.includes(name)) opts[name] = value;
    else throw new Error(`unknown option '${key}'`);
  }

  if (!(workload in workloads) && !hidden.includes(workload)) {
    throw new Error(`usage: node ${driver} <${Object.keys(workloads).join('|')}> --connection <postgres url> [--settings default|fast] [--concurrency N] [--jobs N] [--timeout s]`);
  }
  if (!opts.connection) throw new Error('--connection is required');
  if (!['default', 'fast'].includes(opts.settings)) throw new Error(`--settings must be default or fast, not '${opts.settings}'`);
  const defaults = workloads[workload] ?? {};
  opts.jobs ??= defaults.jobs ?? 0;
  opts.timeout ??= defaults.timeout ?? 120;
  return opts;
}

function integer(key, value, min) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${key} must be an integer of at least ${min}`);
  return n;
}

function positive(key, value) {
  const n = Number(value);
  if (!(n > 0)) throw new Error(`${key} must be a positive number`);
  return n;
}
