using System.Text.RegularExpressions;

namespace Orleans.Jobs.Grains.Interfaces.JobSets;

/// <summary>How a jobset runs; fixed by whichever worker creates it.</summary>
[GenerateSerializer, Alias("jobs.JobSetDefinition")]
public sealed record JobSetDefinition
{
    /// <summary>How many times a job is tried before it is recorded as failed.</summary>
    [Id(0)] public int MaxAttempts { get; init; } = JobSetRules.DefaultMaxAttempts;

    /// <summary>The lease of a claimed job: a worker that dies or hangs loses its job after this long.</summary>
    [Id(1)] public TimeSpan LeaseDuration { get; init; } = QueueLimits.DefaultLeaseDuration;
}

/// <summary>One job of a jobset: its id and its data (a JSON object).</summary>
[GenerateSerializer, Immutable, Alias("jobs.JobSetJob")]
public sealed record JobSetJob([property: Id(0)] string JobId, [property: Id(1)] string Data)
{
    /// <summary>The job's payload in the jobset's queue.</summary>
    public string ToPayload() => System.Text.Json.JsonSerializer.Serialize(new Payload(JobId, System.Text.Json.Nodes.JsonNode.Parse(Data)), System.Text.Json.JsonSerializerOptions.Web);

    /// <summary>Reads a payload written by <see cref="ToPayload"/>.</summary>
    /// <exception cref="ArgumentException">It is not a jobset job.</exception>
    public static JobSetJob FromPayload(string payload)
    {
        try
        {
            var read = System.Text.Json.JsonSerializer.Deserialize<Payload>(payload, System.Text.Json.JsonSerializerOptions.Web);
            if (read is { Id: not null }) return new JobSetJob(read.Id, read.Data?.ToJsonString() ?? "{}");
        }
        catch (System.Text.Json.JsonException)
        {
        }

        throw new ArgumentException("The payload is not a jobset job ({\"id\", \"data\"}).", nameof(payload));
    }

    private sealed record Payload(string Id, System.Text.Json.Nodes.JsonNode? Data);
}

/// <summary>How far a jobset's setup got.</summary>
/// <param name="Created">True for the one call that created the jobset.</param>
/// <param name="Definition">The jobset's definition (the creator's).</param>
/// <param name="AddedBatches">How many batches of jobs were added.</param>
/// <param name="AddedJobs">How many jobs were added.</param>
/// <param name="Complete">True once every batch was added: from then on "no job left" means the set is done.</param>
[GenerateSerializer, Immutable, Alias("jobs.JobSetSetup")]
public sealed record JobSetSetup(
    [property: Id(0)] bool Created,
    [property: Id(1)] JobSetDefinition Definition,
    [property: Id(2)] int AddedBatches,
    [property: Id(3)] long AddedJobs,
    [property: Id(4)] bool Complete);

/// <summary>Where a jobset is: its jobs by state.</summary>
/// <param name="JobSetId">The jobset.</param>
/// <param name="Total">Jobs added.</param>
/// <param name="Unclaimed">Waiting to be claimed for the first time or for a retry.</param>
/// <param name="Running">Claimed by a worker now.</param>
/// <param name="Completed">Finished successfully.</param>
/// <param name="Failed">Failed on their last attempt (kept with their error).</param>
/// <param name="SetupComplete">Every job has been added.</param>
[GenerateSerializer, Immutable, Alias("jobs.JobSetProgress")]
public sealed record JobSetProgress(
    [property: Id(0)] string JobSetId,
    [property: Id(1)] long Total,
    [property: Id(2)] long Unclaimed,
    [property: Id(3)] long Running,
    [property: Id(4)] long Completed,
    [property: Id(5)] long Failed,
    [property: Id(6)] bool SetupComplete)
{
    /// <summary>True when every job completed or failed for good: workers stop.</summary>
    public bool IsDone => SetupComplete && Unclaimed == 0 && Running == 0;
}

/// <summary>A job that failed on its last attempt.</summary>
[GenerateSerializer, Immutable, Alias("jobs.JobSetFailure")]
public sealed record JobSetFailure([property: Id(0)] string JobId, [property: Id(1)] int Attempts, [property: Id(2)] string Error);

/// <summary>The rules of jobsets, in one place.</summary>
public static partial class JobSetRules
{
    /// <summary>How many times a job is tried unless the jobset says otherwise.</summary>
    public const int DefaultMaxAttempts = 3;

    /// <summary>The longest jobset id.</summary>
    public const int MaxJobSetIdLength = 100;

    /// <summary>The longest job id.</summary>
    public const int MaxJobIdLength = 4096;

    /// <summary>How many jobs one setup batch carries at most.</summary>
    public const int MaxBatchSize = 10_000;

    /// <summary>The queue that holds a jobset's jobs.</summary>
    public static string Queue(string jobSetId) => "jobset:" + jobSetId;

    /// <summary>The queue settings of a jobset: retries drop behind all fresh work at once, and nothing is pruned.</summary>
    public static QueueSettings QueueSettings(JobSetDefinition definition) => new()
    {
        MaxAttempts = definition.MaxAttempts,
        LeaseDuration = definition.LeaseDuration,
        RetryDelay = TimeSpan.Zero,
        MaxRetryDelay = TimeSpan.Zero,
        RetryPriorityDrop = QueueLimits.MaxPriority - QueueLimits.MinPriority,
        CompletedRetention = QueueLimits.MaxRetention,
        DeadLetterRetention = QueueLimits.MaxRetention,
    };

    /// <summary>Checks a jobset id as workerbee does: lowercase letters, digits and underscores.</summary>
    /// <exception cref="ArgumentException">The id breaks the rule.</exception>
    public static void ValidateJobSetId(string? jobSetId, string paramName = "jobSetId")
    {
        if (jobSetId is null || !JobSetIdPattern().IsMatch(jobSetId))
            throw new ArgumentException($"Jobset id '{(jobSetId is { Length: > 120 } ? jobSetId[..120] + "…" : jobSetId)}' is invalid: use 1 to {MaxJobSetIdLength} lowercase letters, digits and underscores (like texturemap_2016_08_24).", paramName);
    }

    /// <summary>Checks a definition.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public static void Validate(JobSetDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        QueueSettings(definition).Validate();
    }

    /// <summary>Checks one job: a non-empty id of at most <see cref="MaxJobIdLength"/> characters, valid text, data a JSON object.</summary>
    /// <exception cref="ArgumentException">The job breaks a rule; the message names the job.</exception>
    public static void ValidateJob(JobSetJob job, string paramName = "jobs")
    {
        ArgumentNullException.ThrowIfNull(job, paramName);
        if (string.IsNullOrEmpty(job.JobId) || job.JobId.Length > MaxJobIdLength)
            throw new ArgumentException($"A job id must have 1 to {MaxJobIdLength} characters (got {job.JobId?.Length ?? 0}).", paramName);
        QueueLimits.ValidatePayload(job.JobId, $"job id '{Shorten(job.JobId)}'");
        QueueLimits.ValidatePayload(job.Data, $"data of job '{Shorten(job.JobId)}'");
        try
        {
            if (System.Text.Json.Nodes.JsonNode.Parse(job.Data) is not System.Text.Json.Nodes.JsonObject)
                throw new ArgumentException($"The data of job '{Shorten(job.JobId)}' must be a JSON object.", paramName);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new ArgumentException($"The data of job '{Shorten(job.JobId)}' is not valid JSON: {e.Message}", paramName, e);
        }
    }

    private static string Shorten(string text) => text.Length > 120 ? text[..120] + "…" : text;

    [GeneratedRegex("^[a-z0-9_]{1,100}\\z")]
    private static partial Regex JobSetIdPattern();
}
