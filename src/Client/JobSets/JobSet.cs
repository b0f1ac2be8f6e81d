using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Orleans.Jobs.Client.Hosting;
using Orleans.Jobs.Client.Queues;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.Heartbeats;
using Orleans.Jobs.Grains.Interfaces.JobSets;

namespace Orleans.Jobs.Client.JobSets;

/// <summary>
/// workerbee's <c>postgres_jobset</c>: run the same code in every worker process, with no master. Each process sets
/// the jobset up (one creates it, the others join; batches are added once), then claims random unclaimed jobs and runs
/// <c>jobFunction(jobId, jobData)</c> on them. A job that throws is retried — after all unclaimed work — up to
/// <see cref="JobSetOptions.MaxAttempts"/>, then recorded as failed with its error. Every worker returns when the
/// whole set is done; running the same script again resumes the set.
/// </summary>
/// <example>
/// <code>
/// var summary = await JobSet.RunAsync(client, "texturemap_2016_08_25", async (jobId, data, ct) => { ... },
///     jobIds: ["id1", "id2", "id3"], jobData: new Dictionary&lt;string, JsonObject&gt; { ["id1"] = new() { ["some"] = 2 } },
///     options: new JobSetOptions { Verbose = true });
/// </code>
/// </example>
public static class JobSet
{
    /// <summary>Sets up or joins the jobset, works on it until it is done, and returns a summary.</summary>
    /// <param name="grains">An Orleans client (or any grain factory).</param>
    /// <param name="jobSetId">Lowercase letters, digits and underscores.</param>
    /// <param name="jobFunction">Runs one job: its id, its data ({} when none), and a token cancelled when the job's lease was lost or <paramref name="cancellationToken"/> fires. Throw to fail the attempt.</param>
    /// <param name="jobIds">Unique job ids, the same in every worker; enumerated once, in batches.</param>
    /// <param name="jobData">Optional data per job id.</param>
    /// <param name="options">Attempts, lease, concurrency, verbosity.</param>
    /// <param name="cancellationToken">Stops this worker; its running jobs are given back.</param>
    /// <exception cref="ArgumentException">The id, a job or an option breaks a rule, or the jobset exists with other jobs; the message names it.</exception>
    public static async Task<JobSetSummary> RunAsync(
        IGrainFactory grains,
        string jobSetId,
        Func<string, JsonObject, CancellationToken, Task> jobFunction,
        IEnumerable<string> jobIds,
        IReadOnlyDictionary<string, JsonObject>? jobData = null,
        JobSetOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(jobFunction);
        ArgumentNullException.ThrowIfNull(jobIds);
        JobSetRules.ValidateJobSetId(jobSetId);
        options ??= new JobSetOptions();
        options.Validate();
        var log = options.Verbose ? options.Log ?? Console.Out : TextWriter.Null;
        var elapsed = Stopwatch.StartNew();
        var grain = grains.GetGrain<IJobSetGrain>(jobSetId);

        var setup = await grain.BeginAsync(new JobSetDefinition { MaxAttempts = options.MaxAttempts, LeaseDuration = options.LeaseDuration }).WaitAsync(cancellationToken);
        log.WriteLine(setup.Created ? $"Creating jobset '{jobSetId}'..." : $"Joining jobset '{jobSetId}' (created by another worker)...");
        await AddJobsAsync(grain, jobSetId, setup, jobIds, jobData, options.BatchSize, log, cancellationToken);
        log.WriteLine(new string('-', 80));

        var worker = options.WorkerName ?? $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..6]}";
        var counters = new Counters(options.Concurrency);
        using var stopBeating = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var beating = BeatAsync(grains.GetGrain<IWorkerHeartbeatGrain>(0), worker, counters, stopBeating.Token);
        await Task.WhenAll(Enumerable.Range(0, options.Concurrency).Select(slot =>
            WorkAsync(grains, grain, JobSetRules.Queue(jobSetId), jobFunction, options, worker, slot, counters, log, cancellationToken)));
        await stopBeating.CancelAsync();
        await beating;
        log.WriteLine(counters.Stopped ? "Told to stop (workers:stop): terminating." : "All jobs are exhausted, terminating.");

        var progress = await grain.GetProgressAsync();
        var failures = progress.Failed == 0 ? [] : await grain.GetFailuresAsync(100);
        return new JobSetSummary(jobSetId, progress.Total, progress.Completed, progress.Failed, counters.Run, counters.Threw, failures, setup.Created, elapsed.Elapsed)
        {
            Stopped = counters.Stopped,
        };
    }

    /// <summary>Runs the jobset with a synchronous job function (workerbee's <c>job_function(job_id, job_data)</c>).</summary>
    public static Task<JobSetSummary> RunAsync(
        IGrainFactory grains,
        string jobSetId,
        Action<string, JsonObject> jobFunction,
        IEnumerable<string> jobIds,
        IReadOnlyDictionary<string, JsonObject>? jobData = null,
        JobSetOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobFunction);
        return RunAsync(grains, jobSetId, (id, data, _) => { jobFunction(id, data); return Task.CompletedTask; }, jobIds, jobData, options, cancellationToken);
    }

    /// <summary>
    /// Sends every batch not yet added (each worker walks the same ids; the grain adds each batch once) and completes
    /// the setup with a fingerprint of all ids and data, so a rerun with other jobs under the same id is refused.
    /// </summary>
    private static async Task AddJobsAsync(IJobSetGrain grain, string jobSetId, JobSetSetup setup, IEnumerable<string> jobIds,
        IReadOnlyDictionary<string, JsonObject>? jobData, int batchSize, TextWriter log, CancellationToken cancellationToken)
    {
        if (!setup.Complete)
        {
            log.WriteLine(jobIds.TryGetNonEnumeratedCount(out var count)
                ? $"Adding {count} jobs to jobset '{jobSetId}'..."
                : $"Adding jobs to jobset '{jobSetId}'...");
            if (jobData is { Count: > 0 }) log.WriteLine($"job_data provided for {jobData.Count} jobs");
        }

        using var fingerprint = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var batch = new List<JobSetJob>(batchSize);
        var (batches, jobs) = (0, 0L);
        foreach (var jobId in jobIds)
        {
            var data = jobData is not null && jobData.TryGetValue(jobId ?? "", out var given) ? given.ToJsonString() : "{}";
            var job = new JobSetJob(jobId!, data);
            JobSetRules.ValidateJob(job, nameof(jobIds));
            fingerprint.AppendData(Encoding.UTF8.GetBytes($"{job.JobId.Length}:{job.JobId}{data.Length}:{data}"));
            batch.Add(job);
            jobs++;
            if (batch.Count == batchSize) await FlushAsync();
        }

        if (batch.Count > 0) await FlushAsync();
        if (jobs == 0) throw new ArgumentException($"Jobset '{jobSetId}' has no jobs: give at least one job id.", nameof(jobIds));
        await grain.CompleteSetupAsync(batches, jobs, Convert.ToHexStringLower(fingerprint.GetHashAndReset())).WaitAsync(cancellationToken);
        if (!setup.Complete) log.WriteLine($"jobset '{jobSetId}' set up.");

        async Task FlushAsync()
        {
            if (batches >= setup.AddedBatches) setup = await grain.AddBatchAsync(batches, [.. batch]).WaitAsync(cancellationToken);
            batches++;
            batch.Clear();
        }
    }

    /// <summary>Beats for this worker until the work ends; a Stop answer makes every slot finish its job and return.</summary>
    private static async Task BeatAsync(IWorkerHeartbeatGrain heartbeats, string worker, Counters counters, CancellationToken stop)
    {
        var startedAt = DateTimeOffset.UtcNow;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var current = counters.Current.FirstOrDefault(c => c is not null);
                var status = counters.Stopped ? WorkerStatus.Stopping : current is null ? WorkerStatus.Resting : WorkerStatus.Working;
                if (await heartbeats.BeatAsync(new WorkerBeat(worker, "jobset", Environment.MachineName, status, current, counters.Run, startedAt)).WaitAsync(stop) == WorkerCommand.Stop)
                    counters.Stopped = true;
                await Task.Delay(HeartbeatRules.Interval, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // A missed beat only delays a stop signal; the work goes on.
                try { await Task.Delay(HeartbeatRules.Interval, stop); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    private static async Task WorkAsync(IGrainFactory grains, IJobSetGrain grain, string queue, Func<string, JsonObject, CancellationToken, Task> jobFunction,
        JobSetOptions options, string worker, int slot, Counters counters, TextWriter log, CancellationToken cancellationToken)
    {
        await using var marble = new Marble(grains, new MarbleOptions { Owner = worker, LeaseDuration = options.LeaseDuration });
        var outage = new ClusterOutage(options.ClusterErrorTimeout, log);
        while (!counters.Stopped)
        {
            IReadOnlyList<MarbleJob> claimed;
            try
            {
                claimed = await marble.WaitBatchAsync(queue, 1, options.IdleWait, cancellationToken);
                if (claimed.Count == 0)
                {
                    // Nothing to claim: done, or others are running jobs that may still fail and come back.
                    if ((await grain.GetProgressAsync().WaitAsync(cancellationToken)).IsDone) return;
                    outage.Ended();
                    continue;
                }
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && ClusterOutage.IsRetryable(e))
            {
                // A claim the cluster could not answer may have taken a job all the same (its reply was lost): the
                // Marble resumes that claim on the next wait, so this slot waits a little and claims again.
                await outage.WaitAsync(e, "claim a job", cancellationToken);
                continue;
            }

            outage.Ended();
            await using var job = claimed[0]; // left unsettled (an unexpected throw), it is failed as abandoned
            var work = JobSetJob.FromPayload(job.Data);
            counters.Current[slot] = work.JobId;
            var n = Interlocked.Increment(ref counters.Run) - 1;
            log.WriteLine($"{n}: claimed '{work.JobId}'");
            try
            {
                Exception? thrown = null;
                try
                {
                    using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, job.LeaseLost);
                    await jobFunction(work.JobId, JsonNode.Parse(work.Data)!.AsObject(), stop.Token);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    await job.ReleaseAsync(); // this worker is stopping: the job goes back as it was
                    throw;
                }
                catch (Exception e) when (!job.LeaseLost.IsCancellationRequested)
                {
                    thrown = e;
                }

                if (job.LeaseLost.IsCancellationRequested)
                {
                    log.WriteLine("...lost its lease (this worker stalled); another worker redoes it.");
                    continue;
                }

                if (thrown is null)
                {
                    await SettleAsync(outage, "record a finished job", () => job.FinishAsync(), cancellationToken);
                    log.WriteLine("...done.");
                    continue;
                }

                Interlocked.Increment(ref counters.Threw);
                FailResult? failed = null;
                await SettleAsync(outage, "record a failed attempt", async () => failed = await job.FailAsync($"{thrown.GetType().Name}: {thrown.Message}"), cancellationToken);
                log.WriteLine(failed!.Outcome == FailOutcome.DeadLettered
                    ? $"...failed on attempt {job.Attempt}, the last: recorded as failed ({thrown.Message})."
                    : $"...failed on attempt {job.Attempt} ({thrown.Message}); it is retried after the unclaimed work.");
            }
            catch (JobLeaseLostException)
            {
                log.WriteLine("...settled too late: this worker had lost its lease meanwhile; another worker redoes it.");
            }
            finally
            {
                counters.Current[slot] = null;
            }
        }
    }

    /// <summary>Finishes or fails a job, trying again while the cluster or the store cannot answer (within the outage budget).</summary>
    private static async Task SettleAsync(ClusterOutage outage, string what, Func<Task> settle, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await settle();
                outage.Ended();
                return;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && ClusterOutage.IsRetryable(e))
            {
                await outage.WaitAsync(e, what, cancellationToken);
            }
        }
    }

    private sealed class Counters(int slots)
    {
        public long Run;
        public long Threw;
        public volatile bool Stopped;
        public readonly string?[] Current = new string?[slots];
    }
}
