using System.Text.Json;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Orleans.Jobs.Storage;

namespace Orleans.Jobs.Grains.Pipelines;

/// <summary>
/// This silo's access to the cluster's finished-pipelines log, kept in the job store's event logs: pipeline grains
/// append, the log grain reads. Entries older than <see cref="PipelineOptions.FinishedLogRetention"/> are trimmed by
/// whichever silo appends next after <see cref="TrimInterval"/>.
/// </summary>
public sealed class FinishedPipelineLog(IEventLogStore store, IOptions<PipelineOptions> options, TimeProvider timeProvider)
{
    /// <summary>The event log's name.</summary>
    public const string LogName = "pipelines.finished";

    /// <summary>How often one silo trims the log at most.</summary>
    public static readonly TimeSpan TrimInterval = TimeSpan.FromMinutes(10);

    private long _nextTrimTicks;

    /// <summary>Appends a finished pipeline; returns its sequence.</summary>
    public async Task<long> AppendAsync(PipelineStatus status)
    {
        var now = timeProvider.GetUtcNow();
        var entry = new Entry(status.Id, status.State, status.FinishedAt ?? now, status.FailedStep, status.Error);
        var sequence = (await store.AppendAsync(LogName, [JsonSerializer.Serialize(entry, JsonSerializerOptions.Web)], now, CancellationToken.None))[0];
        var next = Interlocked.Read(ref _nextTrimTicks);
        if (now.UtcTicks >= next && Interlocked.CompareExchange(ref _nextTrimTicks, now.UtcTicks + TrimInterval.Ticks, next) == next)
            await store.TrimAsync(LogName, now - options.Value.FinishedLogRetention, CancellationToken.None);
        return sequence;
    }

    /// <summary>Reads finished pipelines after <paramref name="after"/>, waiting up to <paramref name="wait"/> for one.</summary>
    public async Task<FinishedPage> ReadAsync(long after, int max, TimeSpan wait, CancellationToken cancellationToken)
    {
        QueueLimits.CheckRange(after, 0, long.MaxValue, nameof(after));
        QueueLimits.CheckRange(max, 1, 10_000, nameof(max));
        QueueLimits.CheckRange(wait, TimeSpan.Zero, QueueLimits.MaxWait, nameof(wait));
        using var signals = store.SubscribeLog(LogName);
        var deadline = timeProvider.GetUtcNow() + wait;
        while (true)
        {
            var page = await store.ReadAsync(LogName, after, max, cancellationToken);
            var left = deadline - timeProvider.GetUtcNow();
            if (page.Entries.Count > 0 || left <= TimeSpan.Zero)
                return new FinishedPage([.. page.Entries.Select(ToFinished)], page.Head, page.Oldest);
            await signals.WaitAsync(left, timeProvider, cancellationToken);
        }
    }

    private static FinishedPipeline ToFinished(EventLogEntry entry)
    {
        var e = JsonSerializer.Deserialize<Entry>(entry.Payload, JsonSerializerOptions.Web)
            ?? throw new InvalidDataException($"Entry {entry.Sequence} of the finished-pipelines log is JSON null.");
        return new FinishedPipeline(entry.Sequence, e.Id, e.State, e.FinishedAt, e.FailedStep, e.Error);
    }

    private sealed record Entry(string Id, PipelineState State, DateTimeOffset FinishedAt, string? FailedStep, string? Error);
}
