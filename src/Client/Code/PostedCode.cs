using System.ComponentModel;
using System.Diagnostics;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.Code;

namespace Orleans.Jobs.Client.Code;

/// <summary>
/// Posted code (JobMon's <c>jobs:sources</c>, Impetus' marshalled code): post a .NET assembly, then run its public
/// static functions on any silo by hash, with no restart.
/// <code>
/// var code = new PostedCode(client, clusterKey);
/// var posted = await code.PostFileAsync("bin/Release/net10.0/Sweeps.dll", "sweep kernels");   // git commit of the file's repository
/// var result = await code.RunAsync(posted.Hash, "Sweeps.Kernels.Simulate", """{"n": 1000}""");
/// await code.RemoveAsync(posted.Hash);                                                       // unloads once its running jobs end
/// await code.CollectGarbageAsync(TimeSpan.FromDays(7));                                      // forgets versions removed a week ago
/// </code>
/// Posting and removing need the cluster key (the silos' <c>Gateway:ClusterKey</c>). Runs are jobs of the
/// <see cref="PostedCodeRules.Queue"/> queue: retried up to their attempts, dead-lettered with the reason after.
/// </summary>
public sealed class PostedCode(IGrainFactory grains, string clusterKey)
{
    /// <summary>How long <see cref="RunAsync"/> and <see cref="WaitForResultAsync"/> wait by default.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan GitTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan LongestPoll = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Posts an assembly with a description and, optionally, the git commit it was built from. Returns what was
    /// recorded: posting the same bytes again returns the first post's record.
    /// </summary>
    /// <exception cref="ArgumentException">The assembly, description or commit breaks a rule (<see cref="PostedCodeRules"/>); nothing was sent.</exception>
    /// <exception cref="UnauthorizedAccessException">The cluster key is missing or wrong; nothing was stored.</exception>
    public Task<PostedCodeInfo> PostAsync(byte[] assembly, string description, string? gitCommit = null, CancellationToken cancellationToken = default) =>
        PostAsync(new PostedCodeUpload(assembly, description, gitCommit), cancellationToken);

    /// <summary>
    /// Posts an upload: an assembly, its description and git commit, and its portable PDB (<see cref="PostedCodeUpload.Symbols"/>)
    /// so the errors of its functions carry line numbers and statements. The hash is the assembly's alone.
    /// </summary>
    /// <exception cref="ArgumentException">A part breaks a rule (<see cref="PostedCodeRules"/>), such as symbols of another build; nothing was sent.</exception>
    /// <exception cref="UnauthorizedAccessException">The cluster key is missing or wrong; nothing was stored.</exception>
    public Task<PostedCodeInfo> PostAsync(PostedCodeUpload upload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(upload);
        upload = upload with { GitCommit = upload.GitCommit?.Trim().ToLowerInvariant() };
        PostedCodeRules.ValidateUpload(upload);
        return Version(PostedCodeRules.HashOf(upload.Assembly)).PostAsync(clusterKey, upload).WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Posts the assembly at <paramref name="path"/>, with the portable PDB next to it (<c>name.pdb</c>) when there is
    /// one, recording the commit <c>git rev-parse HEAD</c> prints in <paramref name="gitDirectory"/> (by default the
    /// file's directory); none when it is not in a git repository.
    /// </summary>
    /// <exception cref="ArgumentException">As <see cref="PostAsync(PostedCodeUpload, CancellationToken)"/>: a .pdb next to it that is not this build's is refused too.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    public async Task<PostedCodeInfo> PostFileAsync(string path, string description, string? gitDirectory = null, CancellationToken cancellationToken = default)
    {
        var assembly = await File.ReadAllBytesAsync(path, cancellationToken);
        var symbolsPath = Path.ChangeExtension(path, ".pdb");
        var symbols = File.Exists(symbolsPath) ? await File.ReadAllBytesAsync(symbolsPath, cancellationToken) : null;
        var commit = await FindGitCommitAsync(gitDirectory ?? Path.GetDirectoryName(Path.GetFullPath(path))!, cancellationToken);
        return await PostAsync(new PostedCodeUpload(assembly, description, commit, symbols), cancellationToken);
    }

    /// <summary>The commit checked out in the git repository holding <paramref name="directory"/>; null when there is none or git is not installed.</summary>
    /// <exception cref="DirectoryNotFoundException">There is no such directory.</exception>
    public static async Task<string?> FindGitCommitAsync(string directory, CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"Cannot look for a git commit in '{directory}': there is no such directory.");
        var start = new ProcessStartInfo("git", ["rev-parse", "--verify", "HEAD"])
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        try
        {
            using var git = Process.Start(start)!;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(GitTimeout);
            var output = git.StandardOutput.ReadToEndAsync(timeout.Token);
            _ = git.StandardError.ReadToEndAsync(timeout.Token);
            try
            {
                await git.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                git.Kill();
                throw;
            }

            var commit = (await output).Trim();
            return git.ExitCode == 0 && PostedCodeRules.IsGitCommit(commit) ? commit : null;
        }
        catch (Win32Exception)
        {
            return null; // no git on this machine: the commit is optional
        }
    }

    /// <summary>The posted versions, oldest first; removed ones only when asked.</summary>
    public Task<IReadOnlyList<PostedCodeInfo>> ListAsync(bool includeRemoved = false, CancellationToken cancellationToken = default) =>
        Catalog.ListAsync(includeRemoved).WaitAsync(cancellationToken);

    /// <summary>What was recorded for <paramref name="hash"/>, removed or not; null when nothing was posted under it.</summary>
    /// <exception cref="ArgumentException">It is not a hash.</exception>
    public Task<PostedCodeInfo?> GetAsync(string hash, CancellationToken cancellationToken = default)
    {
        PostedCodeRules.ValidateHash(hash);
        return Version(hash).GetInfoAsync().WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Removes a version: new jobs for it are refused, and silos unload it once its running jobs end. False when it
    /// was not posted or already removed.
    /// </summary>
    /// <exception cref="ArgumentException">It is not a hash.</exception>
    /// <exception cref="UnauthorizedAccessException">The cluster key is missing or wrong; nothing changed.</exception>
    public Task<bool> RemoveAsync(string hash, CancellationToken cancellationToken = default)
    {
        PostedCodeRules.ValidateHash(hash);
        return Version(hash).RemoveAsync(clusterKey).WaitAsync(cancellationToken);
    }

    /// <summary>
    /// JobMon's gc: forgets the versions removed more than <paramref name="olderThan"/> ago (7 days in the CLI). Their
    /// records are deleted and they leave the catalog, so their hashes read as never posted and may be posted again;
    /// live versions are never touched. Returns the hashes forgotten.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="olderThan"/> is outside 0 to <see cref="PostedCodeRules.MaxCollectAfter"/>; nothing was sent.</exception>
    /// <exception cref="UnauthorizedAccessException">The cluster key is missing or wrong; nothing changed.</exception>
    public Task<IReadOnlyList<string>> CollectGarbageAsync(TimeSpan olderThan, CancellationToken cancellationToken = default)
    {
        PostedCodeRules.ValidateCollectAge(olderThan);
        return Catalog.CollectAsync(clusterKey, olderThan).WaitAsync(cancellationToken);
    }

    /// <summary>Sends a job that runs <paramref name="function"/> (<c>Namespace.Type.Method</c>) of posted code with <paramref name="args"/> (JSON). Returns the job id.</summary>
    /// <exception cref="ArgumentException">The hash, function name or args break a rule; nothing was sent.</exception>
    public Task<long> SendAsync(string hash, string function, string args = PostedFunctionCall.NoArgs, SendOptions? options = null)
    {
        var call = new PostedFunctionCall(hash, function, args);
        call.Validate();
        return grains.GetGrain<IQueueGrain>(PostedCodeRules.Queue).SendAsync(call.ToPayload(), options);
    }

    /// <summary>Waits for a job sent by <see cref="SendAsync"/> to finish and returns the function's result.</summary>
    /// <exception cref="PostedFunctionFailedException">The job was dead-lettered: every attempt failed; the exception carries the last error.</exception>
    /// <exception cref="TimeoutException">It did not finish in time; it may still run.</exception>
    public async Task<string?> WaitForResultAsync(long jobId, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var queue = grains.GetGrain<IQueueGrain>(PostedCodeRules.Queue);
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? DefaultTimeout;
        var pause = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            var job = await queue.GetJobAsync(jobId).WaitAsync(cancellationToken)
                ?? throw new InvalidOperationException($"Job {jobId} is not in queue '{PostedCodeRules.Queue}': it was never sent there, or it finished longer ago than the queue keeps jobs.");
            switch (job.State)
            {
                case JobState.Completed:
                    return job.Result;
                case JobState.DeadLettered:
                    throw new PostedFunctionFailedException(jobId, job.Attempt, job.LastError);
            }

            if (deadline.Elapsed >= limit)
                throw new TimeoutException($"Job {jobId} did not finish within {limit}; it is {job.State} (attempt {job.Attempt} of {job.MaxAttempts}) and may still run.");
            // No completion signal reaches a client: poll, quickly at first.
            await Task.Delay(pause, cancellationToken);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LongestPoll.Ticks));
        }
    }

    /// <summary>Runs a posted function as a job and returns its result (<see cref="SendAsync"/>, then <see cref="WaitForResultAsync"/>).</summary>
    /// <exception cref="ArgumentException">The hash, function name or args break a rule; nothing was sent.</exception>
    /// <exception cref="PostedFunctionFailedException">Every attempt failed (unknown hash, removed version, unknown function, or it threw); the exception carries the last error.</exception>
    /// <exception cref="TimeoutException">It did not finish in time; it may still run.</exception>
    public async Task<string?> RunAsync(string hash, string function, string args = PostedFunctionCall.NoArgs, SendOptions? options = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var jobId = await SendAsync(hash, function, args, options).WaitAsync(cancellationToken);
        return await WaitForResultAsync(jobId, timeout, cancellationToken);
    }

    private IPostedCodeGrain Version(string hash) => grains.GetGrain<IPostedCodeGrain>(hash);

    private IPostedCodeCatalogGrain Catalog => grains.GetGrain<IPostedCodeCatalogGrain>(0);
}

/// <summary>A posted function's job failed on every attempt and was dead-lettered.</summary>
/// <param name="jobId">The job.</param>
/// <param name="attempts">How many attempts it had.</param>
/// <param name="error">The last attempt's error, such as <c>PostedCodeException: Posted code … was removed …</c>.</param>
public sealed class PostedFunctionFailedException(long jobId, int attempts, string? error)
    : Exception($"Posted-function job {jobId} failed after {attempts} attempt{(attempts == 1 ? "" : "s")}: {error ?? "no error recorded"}")
{
    /// <summary>The job.</summary>
    public long JobId { get; } = jobId;

    /// <summary>The last attempt's error.</summary>
    public string? Error { get; } = error;
}
