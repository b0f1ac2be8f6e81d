-- Every claim wrote an entry into this index, which only dead-silo recovery used. Recovery is rare and the hot table
-- holds only waiting and running jobs, so it scans instead: one index write fewer per claim.
drop index if exists {schema}.jobs_by_owner;
