namespace Orleans.Jobs.Runtime.Storage.PostgreSql;

public sealed partial class PostgresClusterStore
{
    /// <inheritdoc />
    public async Task<StoredGrainState?> ReadStateAsync(GrainId grain, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.ReadState, ("type", grain.Type), ("key", grain.Key));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new StoredGrainState(reader.GetString(0), reader.GetInt64(1)) : null;
    }

    /// <inheritdoc />
    public async Task<long> WriteStateAsync(GrainId grain, string json, long expectedVersion, CancellationToken cancellationToken)
    {
        if (expectedVersion == 0)
        {
            await using var insert = Command(_sql.InsertState, ("type", grain.Type), ("key", grain.Key), ("json", json));
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1) return 1;
        }
        else
        {
            await using var update = Command(_sql.UpdateState, ("type", grain.Type), ("key", grain.Key), ("json", json), ("expected", expectedVersion));
            if (await update.ExecuteScalarAsync(cancellationToken) is long version) return version;
        }

        throw new InconsistentStateException(grain, expectedVersion, await StoredVersionAsync(grain, cancellationToken));
    }

    /// <inheritdoc />
    public async Task ClearStateAsync(GrainId grain, long expectedVersion, CancellationToken cancellationToken)
    {
        await using var delete = Command(_sql.DeleteState, ("type", grain.Type), ("key", grain.Key), ("expected", expectedVersion));
        var deleted = await delete.ExecuteNonQueryAsync(cancellationToken);
        var stored = deleted == 1 ? 0 : await StoredVersionAsync(grain, cancellationToken);
        if (deleted == 0 && stored != expectedVersion)
            throw new InconsistentStateException(grain, expectedVersion, stored);
    }

    private async Task<long> StoredVersionAsync(GrainId grain, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.StateVersion, ("type", grain.Type), ("key", grain.Key));
        return await command.ExecuteScalarAsync(cancellationToken) is long version ? version : 0;
    }
}
