-- Orleans' ADO.NET providers, part 3: reminders. {schema} is replaced by the configured schema name.
--
-- For Microsoft.Orleans.Reminders.AdoNet 10.4 with invariant "Npgsql". Written by us from the provider's query
-- contract, not copied from Orleans' scripts; needs the orleansquery table of 0003. Everything is qualified with the
-- schema, so the stored queries do not depend on the search path.
--
-- Contract, as the 10.4 provider uses it:
--   * a reminder is (ServiceId, GrainId, ReminderName); GrainId is the grain id's string form, GrainHash its uniform
--     hash cast to a signed int; reads return GrainId, ReminderName, StartTime, Period (milliseconds, sent as int or
--     bigint) and Version (the etag);
--   * UpsertReminderRowKey returns the new Version; DeleteReminderRowKey deletes only at the given Version and
--     returns one row of one column, > 0 when it deleted;
--   * ring ranges: ReadRangeRows1Key is used when BeginHash < EndHash as signed ints (hash in (begin, end]),
--     ReadRangeRows2Key for a range that wraps around (hash > begin or hash <= end).

create table {schema}.orleansreminderstable (
    serviceid    text not null,
    grainid      text not null,
    remindername text not null,
    starttime    timestamptz not null,
    period       bigint not null,
    grainhash    integer not null,
    version      integer not null,
    primary key (serviceid, grainid, remindername)
);
create index orleansreminderstable_hash on {schema}.orleansreminderstable (serviceid, grainhash);

insert into {schema}.orleansquery (querykey, querytext) values
('UpsertReminderRowKey', '
    insert into {schema}.orleansreminderstable as r
        (serviceid, grainid, remindername, starttime, period, grainhash, version)
    values
        (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
    on conflict (serviceid, grainid, remindername) do update
       set starttime = excluded.starttime,
           period = excluded.period,
           grainhash = excluded.grainhash,
           version = r.version + 1
    returning version
'),
('ReadReminderRowsKey', '
    select grainid, remindername, starttime, period, version
      from {schema}.orleansreminderstable
     where serviceid = @ServiceId and grainid = @GrainId
'),
('ReadReminderRowKey', '
    select grainid, remindername, starttime, period, version
      from {schema}.orleansreminderstable
     where serviceid = @ServiceId and grainid = @GrainId and remindername = @ReminderName
'),
('ReadRangeRows1Key', '
    select grainid, remindername, starttime, period, version
      from {schema}.orleansreminderstable
     where serviceid = @ServiceId and grainhash > @BeginHash and grainhash <= @EndHash
'),
('ReadRangeRows2Key', '
    select grainid, remindername, starttime, period, version
      from {schema}.orleansreminderstable
     where serviceid = @ServiceId and (grainhash > @BeginHash or grainhash <= @EndHash)
'),
('DeleteReminderRowKey', '
    with deleted as (
        delete from {schema}.orleansreminderstable
         where serviceid = @ServiceId and grainid = @GrainId and remindername = @ReminderName
           and version = @Version
        returning 1
    )
    select count(*)::integer from deleted
'),
('DeleteReminderRowsKey', '
    delete from {schema}.orleansreminderstable where serviceid = @ServiceId
');
