using System.Text.Json;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;

namespace Orleans.Jobs.Client.WorkStreams;

/// <summary>Reading a record's result.</summary>
public static class ForkRecordExtensions
{
    /// <summary>The forked function's return value as <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidOperationException">The record is an error; the message carries it.</exception>
    /// <exception cref="JsonException">The result is not a <typeparamref name="T"/>.</exception>
    public static T ResultAs<T>(this ForkRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Status != ForkStatus.Ready)
            throw new InvalidOperationException($"Fork {record.Job.Id} ({record.Job.Name}) has no result: {record.Error?.Error}");
        return JsonSerializer.Deserialize<T>(record.Result ?? "null", ForkedFunctions.ArgumentJson)!;
    }
}
