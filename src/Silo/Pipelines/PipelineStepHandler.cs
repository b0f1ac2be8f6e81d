using System.Text.Json;
using System.Text.Json.Nodes;
using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Orleans.Jobs.Silo.Workers;

namespace Orleans.Jobs.Silo.Pipelines;

/// <summary>
/// Runs one step job (pypelinin's Broker): asks the pipeline grain whether this job may run the step, builds the
/// worker's input with the store, runs the worker, saves its result and reports back. A throwing worker or store
/// fails the attempt (the job store retries it; the grain fails the pipeline on the last attempt). A cancelled step
/// (silo stopping, lease lost) reports nothing: its job comes back and runs again.
/// </summary>
internal sealed class PipelineStepHandler(PipelineWorkerRegistration registration, IPipelineWorker worker, IPipelineStore store, IGrainFactory grains, TimeProvider timeProvider) : IJobHandler
{
    public async Task<string?> HandleAsync(JobContext job, CancellationToken cancellationToken)
    {
        var step = PipelineStepJob.FromPayload(job.Payload);
        if (step.Worker != registration.Name)
            throw new JobPayloadException($"Job {job.JobId} in queue '{job.Queue}' is for worker '{step.Worker}', not '{registration.Name}'.");
        var pipeline = grains.GetGrain<IPipelineGrain>(step.Pipeline);
        var grant = await pipeline.BeginStepAsync(step.Worker, step.Run, job.JobId, job.Attempt, job.SiloId);
        if (!grant.Run) return $"skipped: {grant.Reason}";

        var startedAt = timeProvider.GetUtcNow();
        var info = new PipelineJobInfo(step.Pipeline, step.Worker, job.Attempt);
        try
        {
            var data = JsonNode.Parse(grant.Data!) as JsonObject
                ?? throw new JsonException($"The data of pipeline '{step.Pipeline}' is not a JSON object.");
            var input = await store.RetrieveAsync(data, info, worker.Requires, cancellationToken);
            var result = await worker.ProcessAsync(input, cancellationToken)
                ?? throw new InvalidOperationException($"Worker '{step.Worker}' returned null; return a JsonObject (empty for no result).");
            await store.SaveAsync(data, info, result, cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            await pipeline.StepFailedAsync(step.Worker, step.Run, job.Attempt, $"{e.GetType().Name}: {e.Message}");
            throw;
        }

        await pipeline.StepSucceededAsync(step.Worker, step.Run, startedAt);
        return null;
    }
}
