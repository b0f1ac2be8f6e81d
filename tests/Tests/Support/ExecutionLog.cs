using System.Collections.Concurrent;
using Orleans.Jobs.Silo.Workers;

namespace Orleans.Jobs.Tests.Support;

/// <summary>Records which silo started which job on which attempt, across every silo of a test cluster.</summary>
public sealed class ExecutionLog
{
    private readonly ConcurrentQueue<(long JobId, string SiloId, int Attempt)> _starts = new();

    public void Started(JobContext job) => _starts.Enqueue((job.JobId, job.SiloId, job.Attempt));

    public IReadOnlyList<(string SiloId, int Attempt)> Runs(long jobId) =>
        _starts.Where(s => s.JobId == jobId).Select(s => (s.SiloId, s.Attempt)).ToList();

    public bool Ran(long jobId, string siloId) => _starts.Any(s => s.JobId == jobId && s.SiloId == siloId);

    public IReadOnlyList<long> JobsRunOn(string siloId) => _starts.Where(s => s.SiloId == siloId).Select(s => s.JobId).ToList();

    public int Count => _starts.Count;
}
