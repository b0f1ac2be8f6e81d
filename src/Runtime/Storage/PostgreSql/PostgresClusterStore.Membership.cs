using Npgsql;
using Orleans.Jobs.Runtime.Membership;

namespace Orleans.Jobs.Runtime.Storage.PostgreSql;

public sealed partial class PostgresClusterStore
{
    /// <inheritdoc />
    public async Task RegisterSiloAsync(SiloRecord silo, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.RegisterSilo, ("id", silo.SiloId), ("node", silo.Node), ("gateway", Nullable(silo.Gateway)),
            ("started", silo.StartedAt), ("heartbeat", silo.LastHeartbeat));
        if (await command.ExecuteScalarAsync(cancellationToken) is not null) return;

        await using var read = Command(_sql.ReadSilo, ("id", silo.SiloId));
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        throw MembershipErrors.SiloIdInUse(ReadSilo(reader));
    }

    /// <inheritdoc />
    public async Task<bool> HeartbeatAsync(string siloId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.Heartbeat, ("id", siloId), ("now", now));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<SiloRecord>> DeclareDeadSilosAsync(DateTimeOffset heartbeatCutoff, CancellationToken cancellationToken) =>
        ReadSilosAsync(_sql.DeclareDead, cancellationToken, ("cutoff", heartbeatCutoff));

    /// <inheritdoc />
    public async Task MarkSiloStoppedAsync(string siloId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.MarkStopped, ("id", siloId), ("now", now));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<SiloRecord>> GetSilosAsync(CancellationToken cancellationToken) =>
        ReadSilosAsync(_sql.ListSilos, cancellationToken);

    private async Task<IReadOnlyList<SiloRecord>> ReadSilosAsync(string sql, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var command = Command(sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var silos = new List<SiloRecord>();
        while (await reader.ReadAsync(cancellationToken)) silos.Add(ReadSilo(reader));
        return silos;
    }

    private static SiloRecord ReadSilo(NpgsqlDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.IsDBNull(2) ? null : reader.GetString(2),
        (SiloStatus)reader.GetInt16(3),
        reader.GetFieldValue<DateTimeOffset>(4),
        reader.GetFieldValue<DateTimeOffset>(5));
}
