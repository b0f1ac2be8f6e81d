namespace Orleans.Jobs.Grains.Interfaces.Heartbeats;

/// <summary>What a worker is doing (JobMon's worker status).</summary>
[GenerateSerializer, Alias("jobs.WorkerStatus")]
public enum WorkerStatus
{
    /// <summary>Waiting for work.</summary>
    Resting = 0,

    /// <summary>Running a job.</summary>
    Working = 1,

    /// <summary>Told to stop: finishing its current job, then exiting.</summary>
    Stopping = 2,
}

/// <summary>One heartbeat of a worker.</summary>
/// <param name="WorkerId">Unique per worker process or silo incarnation.</param>
/// <param name="Kind">What runs it: "silo" (a silo's workers), "jobset", or a name of the caller's choice.</param>
/// <param name="Host">The machine.</param>
/// <param name="Status">What it is doing.</param>
/// <param name="CurrentJob">The job it runs, as "queue/job id" (or the jobset's job id), when working.</param>
/// <param name="JobsDone">Jobs it finished since it started.</param>
/// <param name="StartedAt">When the worker started (its first beat carries it).</param>
[GenerateSerializer, Immutable, Alias("jobs.WorkerBeat")]
public sealed record WorkerBeat(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] string Kind,
    [property: Id(2)] string Host,
    [property: Id(3)] WorkerStatus Status,
    [property: Id(4)] string? CurrentJob,
    [property: Id(5)] long JobsDone,
    [property: Id(6)] DateTimeOffset StartedAt);

/// <summary>A status a worker was in, from when, and on which job.</summary>
[GenerateSerializer, Immutable, Alias("jobs.WorkerStatusChange")]
public sealed record WorkerStatusChange([property: Id(0)] WorkerStatus Status, [property: Id(1)] DateTimeOffset Since, [property: Id(2)] string? Job);

/// <summary>A worker as the cluster sees it.</summary>
/// <param name="Beat">Its latest heartbeat.</param>
/// <param name="LastBeat">When that heartbeat arrived.</param>
/// <param name="StatusSince">When it entered its current status (time in status = now - this).</param>
/// <param name="History">Its latest status changes, newest first (at most <see cref="HeartbeatRules.HistoryLength"/>).</param>
/// <param name="StopRequested">True once a stop signal reached it.</param>
[GenerateSerializer, Immutable, Alias("jobs.WorkerInfo")]
public sealed record WorkerInfo(
    [property: Id(0)] WorkerBeat Beat,
    [property: Id(1)] DateTimeOffset LastBeat,
    [property: Id(2)] DateTimeOffset StatusSince,
    [property: Id(3)] IReadOnlyList<WorkerStatusChange> History,
    [property: Id(4)] bool StopRequested);

/// <summary>What the cluster tells a worker in answer to a heartbeat.</summary>
[GenerateSerializer, Alias("jobs.WorkerCommand")]
public enum WorkerCommand
{
    /// <summary>Carry on.</summary>
    Continue = 0,

    /// <summary>Finish the current job, take no more, and exit (JobMon's workers:stop).</summary>
    Stop = 1,
}

/// <summary>The rules of heartbeats, in one place.</summary>
public static class HeartbeatRules
{
    /// <summary>How often workers beat.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    /// <summary>A worker silent this long is dropped from the list.</summary>
    public static readonly TimeSpan ForgetAfter = TimeSpan.FromMinutes(10);

    /// <summary>How many status changes are kept per worker.</summary>
    public const int HistoryLength = 20;

    /// <summary>The most workers tracked; beyond it the longest-silent are dropped.</summary>
    public const int MaxWorkers = 10_000;

    /// <summary>Checks a beat: ids and names of sane length, valid text.</summary>
    /// <exception cref="ArgumentException">The beat breaks a rule; the message names the field.</exception>
    public static void Validate(WorkerBeat beat)
    {
        ArgumentNullException.ThrowIfNull(beat);
        Check(beat.WorkerId, nameof(beat.WorkerId), 200, required: true);
        Check(beat.Kind, nameof(beat.Kind), 50, required: true);
        Check(beat.Host, nameof(beat.Host), 200, required: true);
        Check(beat.CurrentJob, nameof(beat.CurrentJob), 4200, required: false);
        if (!Enum.IsDefined(beat.Status)) throw new ArgumentOutOfRangeException(nameof(beat), beat.Status, "Status must be Resting, Working or Stopping.");
        if (beat.JobsDone < 0) throw new ArgumentOutOfRangeException(nameof(beat), beat.JobsDone, "JobsDone must not be negative.");
    }

    private static void Check(string? value, string field, int maxLength, bool required)
    {
        if (value is null)
        {
            if (required) throw new ArgumentException($"A heartbeat's {field} is required.", field);
            return;
        }

        if ((required && value.Length == 0) || value.Length > maxLength)
            throw new ArgumentException($"A heartbeat's {field} must have {(required ? 1 : 0)} to {maxLength} characters (got {value.Length}).", field);
        QueueLimits.ValidatePayload(value, field);
    }
}
