using Orleans.Jobs.Grains.Code;
using Orleans.Jobs.Grains.Interfaces.Code;
using Orleans.Jobs.Silo.Workers;

namespace Orleans.Jobs.Silo.Code;

/// <summary>
/// The built-in handler of the <see cref="PostedCodeRules.Queue"/> queue, on every silo: each job is a
/// <see cref="PostedFunctionCall"/>, run by this silo's <see cref="PostedCodeRunner"/>; the function's result is the
/// job's result. A call that cannot run (unknown hash, removed version, unknown function) fails the attempt with the
/// reason, and the job is dead-lettered after its attempts like any other.
/// </summary>
internal sealed class PostedCodeJobHandler(PostedCodeRunner runner) : IJobHandler
{
    public Task<string?> HandleAsync(JobContext job, CancellationToken cancellationToken)
    {
        PostedFunctionCall call;
        try
        {
            call = PostedFunctionCall.FromPayload(job.Payload);
        }
        catch (ArgumentException e)
        {
            throw new JobPayloadException($"Job {job.JobId} in queue '{job.Queue}': {e.Message}", e);
        }

        return runner.RunAsync(call, job.JobId, job.Attempt, cancellationToken);
    }
}
