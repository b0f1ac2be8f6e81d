-- Orleans' ADO.NET providers, part 1: the query catalog and cluster membership. {schema} is replaced by the
-- configured schema name.
--
-- For Microsoft.Orleans.Clustering.AdoNet 10.4 with invariant "Npgsql". Written by us from the providers' query
-- contract (the QueryKey rows they load, the parameters they bind, the columns they read back by name), not copied
-- from Orleans' scripts. The providers connect with "Search Path={schema}" and run
-- "select QueryKey, QueryText from OrleansQuery" unqualified; everything else is qualified here, so the stored
-- queries and the functions do not depend on the search path. Unquoted names fold to lowercase; Orleans reads
-- result columns by their mixed-case names (Npgsql's GetOrdinal falls back to a case-insensitive match), so the
-- lowercase names serve. Timestamps are timestamptz: Npgsql sends Orleans' UTC DateTime parameters as timestamptz.
--
-- Membership contract, as the 10.4 provider uses it:
--   * the table version is one integer per deployment (cluster id), bumped by every insert/update of a member row;
--     a write carries the version it read (parameter Version) and must fail (return 0, change nothing) if it moved on;
--   * InsertMembershipKey / UpdateMembershipKey / InsertMembershipVersionKey return one row of one column, > 0 on
--     success; the heartbeat (UpdateIAmAlivetimeKey) touches only the member row, never the version;
--   * Status: 3 = Active (gateways), 6 = Dead (pruning); SuspectTimes is an opaque string Orleans formats itself;
--   * the optional CleanupDefunctSiloEntryKey, when present, is used instead of CleanupDefunctSiloEntriesKey: it
--     deletes one Dead row only if the values the provider read (times, suspicions) are still the stored ones.

-- The queries Orleans runs; every provider (clustering, persistence, reminders) loads its rows from here.
create table {schema}.orleansquery (
    querykey  varchar(64) primary key,
    querytext text not null
);

-- One row per deployment: the membership table version (Orleans' etag for the whole table).
create table {schema}.orleansmembershipversiontable (
    deploymentid text primary key,
    timestamp    timestamptz not null default now(),
    version      integer not null default 0
);

-- One row per silo incarnation (address, port, generation).
create table {schema}.orleansmembershiptable (
    deploymentid text not null references {schema}.orleansmembershipversiontable (deploymentid),
    address      text not null,
    port         integer not null,
    generation   integer not null,
    siloname     text not null,
    hostname     text not null,
    status       integer not null,
    proxyport    integer,
    suspecttimes text,
    starttime    timestamptz not null,
    iamalivetime timestamptz not null,
    primary key (deploymentid, address, port, generation)
);

-- Moves a deployment's table version from p_version to the next one; false when it moved on already (or reached
-- int max). The callers run it inside their own subtransaction, so a later failure undoes the bump too.
create function {schema}.orleans_bump_membership_version(p_deploymentid text, p_version integer)
returns boolean
language plpgsql as $$
begin
    update {schema}.orleansmembershipversiontable
       set version = version + 1, timestamp = now()
     where deploymentid = p_deploymentid and version = p_version and version < 2147483647;
    return found;
end;
$$;

-- Inserts a member row and bumps the table version, both or neither. Returns 1, or 0 when the version moved on
-- (or reached int max) or the row already exists.
create function {schema}.orleans_insert_membership(
    p_deploymentid text, p_address text, p_port integer, p_generation integer, p_siloname text, p_hostname text,
    p_status integer, p_proxyport integer, p_starttime timestamptz, p_iamalivetime timestamptz, p_version integer)
returns integer
language plpgsql as $$
begin
    begin
        if not {schema}.orleans_bump_membership_version(p_deploymentid, p_version) then
            return 0;
        end if;
        insert into {schema}.orleansmembershiptable
            (deploymentid, address, port, generation, siloname, hostname, status, proxyport, starttime, iamalivetime)
        values
            (p_deploymentid, p_address, p_port, p_generation, p_siloname, p_hostname, p_status, p_proxyport,
             p_starttime, p_iamalivetime)
        on conflict do nothing;
        if not found then
            raise exception 'membership row exists' using errcode = 'OJ001';  -- undoes the version bump
        end if;
        return 1;
    exception when sqlstate 'OJ001' then
        return 0;
    end;
end;
$$;

-- Updates a member row (status, suspicions, liveness) and bumps the table version, both or neither. Returns 1, or 0
-- when the version moved on (or reached int max) or the row is gone. The liveness time never goes backwards.
create function {schema}.orleans_update_membership(
    p_deploymentid text, p_address text, p_port integer, p_generation integer, p_status integer,
    p_suspecttimes text, p_iamalivetime timestamptz, p_version integer)
returns integer
language plpgsql as $$
begin
    begin
        if not {schema}.orleans_bump_membership_version(p_deploymentid, p_version) then
            return 0;
        end if;
        update {schema}.orleansmembershiptable
           set status = p_status,
               suspecttimes = p_suspecttimes,
               iamalivetime = greatest(iamalivetime, p_iamalivetime)
         where deploymentid = p_deploymentid and address = p_address and port = p_port and generation = p_generation;
        if not found then
            raise exception 'membership row missing' using errcode = 'OJ001';  -- undoes the version bump
        end if;
        return 1;
    exception when sqlstate 'OJ001' then
        return 0;
    end;
end;
$$;

insert into {schema}.orleansquery (querykey, querytext) values
('InsertMembershipVersionKey', '
    with inserted as (
        insert into {schema}.orleansmembershipversiontable (deploymentid)
        values (@DeploymentId)
        on conflict (deploymentid) do nothing
        returning 1
    )
    select count(*)::integer from inserted
'),
('InsertMembershipKey', '
    select {schema}.orleans_insert_membership(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
        @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version)
'),
('UpdateMembershipKey', '
    select {schema}.orleans_update_membership(@DeploymentId, @Address, @Port, @Generation, @Status,
        @SuspectTimes, @IAmAliveTime, @Version)
'),
('UpdateIAmAlivetimeKey', '
    update {schema}.orleansmembershiptable
       set iamalivetime = greatest(iamalivetime, @IAmAliveTime)
     where deploymentid = @DeploymentId and address = @Address and port = @Port and generation = @Generation
'),
-- Both reads return the version row even when no member row matches (the member columns are then null).
('MembershipReadRowKey', '
    select v.deploymentid, m.address, m.port, m.generation, m.siloname, m.hostname, m.status, m.proxyport,
           m.suspecttimes, m.starttime, m.iamalivetime, v.version
      from {schema}.orleansmembershipversiontable v
      left join {schema}.orleansmembershiptable m
        on m.deploymentid = v.deploymentid
       and m.address = @Address and m.port = @Port and m.generation = @Generation
     where v.deploymentid = @DeploymentId
'),
('MembershipReadAllKey', '
    select v.deploymentid, m.address, m.port, m.generation, m.siloname, m.hostname, m.status, m.proxyport,
           m.suspecttimes, m.starttime, m.iamalivetime, v.version
      from {schema}.orleansmembershipversiontable v
      left join {schema}.orleansmembershiptable m on m.deploymentid = v.deploymentid
     where v.deploymentid = @DeploymentId
'),
('GatewaysQueryKey', '
    select address, proxyport, generation
      from {schema}.orleansmembershiptable
     where deploymentid = @DeploymentId and status = @Status and proxyport > 0
'),
('DeleteMembershipTableEntriesKey', '
    delete from {schema}.orleansmembershiptable where deploymentid = @DeploymentId;
    delete from {schema}.orleansmembershipversiontable where deploymentid = @DeploymentId
'),
-- Dead rows last heard of before the cutoff (parameter IAmAliveTime), with no pending suspicions.
('CleanupDefunctSiloEntriesKey', '
    delete from {schema}.orleansmembershiptable
     where deploymentid = @DeploymentId
       and status = 6
       and iamalivetime < @IAmAliveTime
       and starttime < @IAmAliveTime
       and coalesce(suspecttimes, '''') = ''''
'),
-- One Dead row, only if it still holds the values the provider read. Never touches the version.
('CleanupDefunctSiloEntryKey', '
    delete from {schema}.orleansmembershiptable
     where deploymentid = @DeploymentId
       and address = @Address and port = @Port and generation = @Generation
       and status = 6
       and starttime = @StartTime
       and iamalivetime = @IAmAliveTime
       and coalesce(suspecttimes, '''') = coalesce(@SuspectTimes, '''')
');
