-- Orleans.Jobs schema, version 9: the id of the claim that took a running job (JobClaim.ClaimId). A claim that
-- committed while its reply was lost is found again by it (JobClaim.Resume) instead of waiting out its lease.
-- {schema} is replaced by the configured schema name.

-- No index: only a resumed claim reads it, scanning the queue's running jobs; every claim writes it, and an index
-- would cost every claim one more index entry for a lookup that happens only after a failure.
alter table {schema}.jobs add column claim_id uuid;
