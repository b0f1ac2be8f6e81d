namespace Orleans.Jobs.Grains.Interfaces.JobSets;

/// <summary>
/// One jobset (workerbee's jobset), keyed by its id. Every worker process calls it the same way — there is no
/// master: the first <see cref="BeginAsync"/> creates the jobset, later ones join it; batches of jobs are added once
/// each however many workers send them; workers then claim from the jobset's queue (<see cref="JobSetRules.Queue"/>).
/// </summary>
[Alias("jobs.jobset")]
public interface IJobSetGrain : IGrainWithStringKey
{
    /// <summary>Creates the jobset with <paramref name="definition"/>, or joins it; returns how far its setup got.</summary>
    /// <exception cref="ArgumentException">The id or definition breaks a rule; nothing was stored.</exception>
    [Alias("begin")]
    Task<JobSetSetup> BeginAsync(JobSetDefinition definition);

    /// <summary>
    /// Adds batch <paramref name="batchIndex"/> (from 0, in order) of the jobset's jobs, once: a batch already added
    /// is skipped, so every worker may send every batch. Job ids get random priorities, so claims come in random order.
    /// </summary>
    /// <exception cref="ArgumentException">A job breaks a rule, or the batch is out of order; nothing was added.</exception>
    [Alias("add-batch")]
    Task<JobSetSetup> AddBatchAsync(int batchIndex, IReadOnlyList<JobSetJob> jobs);

    /// <summary>
    /// Marks the setup complete after <paramref name="batches"/> batches with a fingerprint of every job id and its
    /// data; a later run of the same script passes the same fingerprint and resumes. Another fingerprint is refused.
    /// </summary>
    /// <exception cref="ArgumentException">The jobset was set up with other jobs.</exception>
    [Alias("complete-setup")]
    Task<JobSetSetup> CompleteSetupAsync(int batches, long jobs, string fingerprint);

    /// <summary>The jobset's jobs by state.</summary>
    [Alias("get-progress")]
    Task<JobSetProgress> GetProgressAsync();

    /// <summary>Jobs that failed on their last attempt, with their errors, oldest first.</summary>
    [Alias("get-failures")]
    Task<IReadOnlyList<JobSetFailure>> GetFailuresAsync(int limit);
}
