-- Orleans.Jobs schema, version 7: event logs (IEventLogStore) and the results of pipeline steps
-- (PostgresPipelineStore). {schema} is replaced by the configured schema name.

-- A log's last sequence. Appenders update it in the transaction that inserts their entries: its row lock
-- serialises them, so sequences are gap-free and commit in order. It outlives trimmed entries, so a sequence
-- is never handed out twice.
create table {schema}.event_log_heads (
    log  text primary key,
    head bigint not null
);

create table {schema}.event_log_entries (
    log         text not null,
    sequence    bigint not null,
    payload     text not null,
    appended_at timestamptz not null,
    primary key (log, sequence)
);

-- One document per pipeline: the top-level keys its steps saved, merged with jsonb ||.
create table {schema}.pipeline_results (
    pipeline_id text primary key,
    data        jsonb not null,
    updated_at  timestamptz not null
);
