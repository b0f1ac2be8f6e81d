-- Orleans.Jobs schema, version 8: the keys of event log entries appended once (IEventLogStore.AppendOnceAsync).
-- {schema} is replaced by the configured schema name.

-- The sequence each key's entry got. Written under the log's event_log_heads row lock, like the entries. Trims
-- leave it, so a key whose entry is gone still refuses a duplicate.
create table {schema}.event_log_keys (
    log      text not null,
    key      text not null,
    sequence bigint not null,
    primary key (log, key)
);
