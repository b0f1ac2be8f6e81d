-- Orleans.Jobs schema, version 1. {schema} is replaced by the configured schema name.

create table {schema}.grain_state (
    grain_type text not null,
    grain_key  text not null,
    json       text not null,
    version    bigint not null,
    primary key (grain_type, grain_key)
);

create table {schema}.reminders (
    grain_type    text not null,
    grain_key     text not null,
    name          text not null,
    first_tick_at timestamptz not null,
    period_us     bigint not null,
    next_tick_at  timestamptz not null,
    primary key (grain_type, grain_key, name)
);
create index reminders_due on {schema}.reminders (next_tick_at);

create table {schema}.silos (
    silo_id        text primary key,
    node           text not null,
    gateway        text,
    status         smallint not null,
    started_at     timestamptz not null,
    last_heartbeat timestamptz not null
);

-- The hot table: only jobs that are waiting or running. Finished jobs move to finished_jobs, so claims
-- do not slow down as history grows.
create table {schema}.jobs (
    id                bigint generated always as identity primary key,
    queue             text not null,
    state             smallint not null,          -- 0 available, 1 running
    payload           text not null,
    priority          int not null,
    position          bigint not null,            -- order within a priority (see JobRules.Position)
    enqueued_at       timestamptz not null,
    visible_at        timestamptz not null,
    attempt           int not null default 0,
    max_attempts      int not null,
    lease_token       uuid,
    lease_duration_us bigint,                     -- null for unmonitored claims
    lease_expires_at  timestamptz,
    owner             text,
    last_error        text
);
create index jobs_claim on {schema}.jobs (queue, priority desc, position, id) where state = 0;
create index jobs_expiring on {schema}.jobs (queue, lease_expires_at) where state = 1 and lease_expires_at is not null;
create index jobs_by_owner on {schema}.jobs (owner) where state = 1 and lease_expires_at is not null;

-- The archive: completed (2) and dead-lettered (3) jobs, pruned by retention.
create table {schema}.finished_jobs (
    id           bigint primary key,
    queue        text not null,
    state        smallint not null,
    payload      text not null,
    priority     int not null,
    enqueued_at  timestamptz not null,
    visible_at   timestamptz not null,
    attempt      int not null,
    max_attempts int not null,
    owner        text,
    finished_at  timestamptz not null,
    result       text,
    last_error   text
);
create index finished_jobs_by_queue on {schema}.finished_jobs (queue, state, finished_at);
