using System.Text.Json;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Silo.Workers;

/// <summary>Runs the jobs of a queue on silos. Register one per queue with <c>AddJobHandler</c>.</summary>
public interface IJobHandler
{
    /// <summary>
    /// Runs one job. Return to finish it (with an optional result); throw to fail the attempt (it retries, then
    /// goes to the dead-letter list). Stop when <paramref name="cancellationToken"/> is cancelled: the silo is
    /// shutting down, or the job's lease was lost.
    /// </summary>
    Task<string?> HandleAsync(JobContext job, CancellationToken cancellationToken);
}

/// <summary>The job a handler runs.</summary>
public sealed class JobContext(ClaimedJob claim, string siloId)
{
    /// <summary>The claim: ids, payload, attempt and lease.</summary>
    public ClaimedJob Claim { get; } = claim;

    /// <summary>The job id.</summary>
    public long JobId => Claim.JobId;

    /// <summary>The queue.</summary>
    public string Queue => Claim.Queue;

    /// <summary>The raw payload.</summary>
    public string Payload => Claim.Payload;

    /// <summary>Which attempt this is, from 1.</summary>
    public int Attempt => Claim.Attempt;

    /// <summary>The silo running the job: its Orleans silo address, generation included.</summary>
    public string SiloId { get; } = siloId;

    /// <summary>Reads the payload as JSON.</summary>
    /// <exception cref="JobPayloadException">The payload is not valid JSON for <typeparamref name="T"/>; the attempt fails with this message and the job is kept.</exception>
    public T GetPayload<T>(JsonSerializerOptions? options = null)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(Payload, options ?? JsonSerializerOptions.Web)
                ?? throw new JobPayloadException($"The payload of job {JobId} in queue '{Queue}' is JSON null; a {typeof(T).Name} was expected.");
        }
        catch (JsonException e)
        {
            throw new JobPayloadException($"The payload of job {JobId} in queue '{Queue}' is not a valid {typeof(T).Name}: {e.Message}", e);
        }
    }
}

/// <summary>A job's payload could not be read.</summary>
public sealed class JobPayloadException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>How a silo runs the jobs of a queue.</summary>
public sealed record JobHandlerOptions
{
    /// <summary>False claims without a lease: a job whose silo dies is not redone (MarbleRun's unmonitored jobs).</summary>
    public bool Monitored { get; init; } = true;

    /// <summary>
    /// True runs the node-local queue of this silo's node ("queue@node", see <c>QueueName</c>) instead of the
    /// cluster-wide queue: data stays on the node it was sent to, and reaches other nodes by elevation.
    /// </summary>
    public bool NodeLocal { get; init; }
}

/// <summary>Which handler runs the jobs of which queue.</summary>
/// <param name="Queue">The queue.</param>
/// <param name="Create">Creates the handler for one job, from the silo's services.</param>
/// <param name="Options">How the jobs are claimed.</param>
public sealed record JobHandlerRegistration(string Queue, Func<IServiceProvider, IJobHandler> Create, JobHandlerOptions Options)
{
    /// <summary>One handler for every job, which takes nothing from the silo's services (a delegate): jobs run without a service scope.</summary>
    internal IJobHandler? Shared { get; init; }
}

/// <summary>A handler made from a delegate.</summary>
internal sealed class DelegateJobHandler(Func<JobContext, CancellationToken, Task<string?>> handle) : IJobHandler
{
    public Task<string?> HandleAsync(JobContext job, CancellationToken cancellationToken) => handle(job, cancellationToken);
}
