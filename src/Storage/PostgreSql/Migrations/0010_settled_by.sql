-- Orleans.Jobs schema, version 10: the lease token of the attempt that finished a job (settled_by), so a finish or
-- fail retried after its first try committed (the reply was lost) gets the first try's answer, not "lease lost".
-- A failed job waiting for its retry keeps the failed attempt's token in jobs.lease_token for the same reason.
-- {schema} is replaced by the configured schema name.
alter table {schema}.finished_jobs add column settled_by uuid;
