-- Orleans' ADO.NET providers, part 2: grain storage. {schema} is replaced by the configured schema name.
--
-- For Microsoft.Orleans.Persistence.AdoNet 10.4 with invariant "Npgsql". Written by us from the provider's query
-- contract, not copied from Orleans' scripts; needs the orleansquery table of 0003. Everything is qualified with the
-- schema, so the stored queries and the function do not depend on the search path.
--
-- Contract, as the 10.4 provider uses it:
--   * a grain is identified by GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
--     GrainIdExtensionString (null for grains without a string key or key extension) and ServiceId. GrainTypeString
--     is the state name ([PersistentState("name")]), not the grain class, and the provider name is not part of the
--     key either: two grain classes with the same key and state name on one ServiceId share a row;
--   * the state is only ever written and read as PayloadBinary (Orleans serializes it, JSON or not); ReadFromStorageKey
--     returns PayloadBinary and Version, and a row whose payload is null reads as "no record" that still has a version;
--   * the etag is the integer Version; GrainStateVersion is null when the grain has no record yet;
--   * WriteToStorageKey returns one row with NewGrainStateVersion; ClearStorageKey and DeleteStorageKey return the new
--     version in their first column. A conflict must come back as no row, a null, or the unchanged version: Orleans
--     then raises InconsistentStateException;
--   * DeleteStorageKey is optional (used only with DeleteStateOnClear = true); we provide it.

create table {schema}.orleansstorage (
    grainidhash            integer not null,
    grainidn0              bigint not null,
    grainidn1              bigint not null,
    graintypehash          integer not null,
    graintypestring        text not null,
    grainidextensionstring text,
    serviceid              text not null,
    payloadbinary          bytea,
    modifiedon             timestamptz not null default now(),
    version                integer not null
);
-- One row per grain (null and '' extensions kept apart), so racing first writes cannot both insert; the hashes lead,
-- as every query selects by them.
create unique index orleansstorage_grain on {schema}.orleansstorage (
    grainidhash, graintypehash, grainidn0, grainidn1, serviceid, graintypestring,
    coalesce(grainidextensionstring, ''), (grainidextensionstring is null));

-- Writes the state: update when a version is given (it must still be the stored one), insert version 1 when none is.
-- Returns the new version; on a conflict the given version (update) or null (insert), which Orleans reports.
create function {schema}.orleans_write_to_storage(
    p_grainidhash integer, p_grainidn0 bigint, p_grainidn1 bigint, p_graintypehash integer, p_graintypestring text,
    p_grainidextensionstring text, p_serviceid text, p_grainstateversion integer, p_payloadbinary bytea)
returns table (newgrainstateversion integer)
language plpgsql as $$
declare
    v_version integer;
begin
    if p_grainstateversion is not null then
        update {schema}.orleansstorage
           set payloadbinary = p_payloadbinary, modifiedon = now(), version = version + 1
         where grainidhash = p_grainidhash and graintypehash = p_graintypehash
           and grainidn0 = p_grainidn0 and grainidn1 = p_grainidn1
           and serviceid = p_serviceid and graintypestring = p_graintypestring
           and grainidextensionstring is not distinct from p_grainidextensionstring
           and version = p_grainstateversion
        returning version into v_version;
        if not found then
            v_version := p_grainstateversion;
        end if;
    else
        insert into {schema}.orleansstorage
            (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring, grainidextensionstring, serviceid,
             payloadbinary, version)
        values
            (p_grainidhash, p_grainidn0, p_grainidn1, p_graintypehash, p_graintypestring, p_grainidextensionstring,
             p_serviceid, p_payloadbinary, 1)
        on conflict do nothing
        returning version into v_version;
    end if;
    return query select v_version;
end;
$$;

insert into {schema}.orleansquery (querykey, querytext) values
('ReadFromStorageKey', '
    select payloadbinary, version
      from {schema}.orleansstorage
     where grainidhash = @GrainIdHash and graintypehash = @GrainTypeHash
       and grainidn0 = @GrainIdN0 and grainidn1 = @GrainIdN1
       and serviceid = @ServiceId and graintypestring = @GrainTypeString
       and grainidextensionstring is not distinct from @GrainIdExtensionString
'),
('WriteToStorageKey', '
    select newgrainstateversion
      from {schema}.orleans_write_to_storage(@GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash,
           @GrainTypeString, @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary)
'),
-- Keeps the row (and its version) with a null payload.
('ClearStorageKey', '
    update {schema}.orleansstorage
       set payloadbinary = null, modifiedon = now(), version = version + 1
     where grainidhash = @GrainIdHash and graintypehash = @GrainTypeHash
       and grainidn0 = @GrainIdN0 and grainidn1 = @GrainIdN1
       and serviceid = @ServiceId and graintypestring = @GrainTypeString
       and grainidextensionstring is not distinct from @GrainIdExtensionString
       and version = @GrainStateVersion
    returning version as newgrainstateversion
'),
-- Removes the row; the returned number only has to differ from the etag (Orleans resets the etag to null).
('DeleteStorageKey', '
    delete from {schema}.orleansstorage
     where grainidhash = @GrainIdHash and graintypehash = @GrainTypeHash
       and grainidn0 = @GrainIdN0 and grainidn1 = @GrainIdN1
       and serviceid = @ServiceId and graintypestring = @GrainTypeString
       and grainidextensionstring is not distinct from @GrainIdExtensionString
       and version = @GrainStateVersion
    returning version + 1 as newgrainstateversion
');
