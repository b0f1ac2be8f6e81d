using Orleans.Jobs.Grains.Interfaces.Pipelines;

namespace Orleans.Jobs.Client.Pipelines;

/// <summary>
/// A node of a pipeline: a step run by the worker of that name (pypelinin's <c>Job('WorkerName')</c>). Two jobs with
/// the same worker name are the same node, as in pypelinin.
/// </summary>
public sealed record Job
{
    /// <summary>Names the worker that runs this step.</summary>
    /// <exception cref="ArgumentException">The name breaks the worker name rule.</exception>
    public Job(string workerName)
    {
        PipelineRules.ValidateWorkerName(workerName, nameof(workerName));
        WorkerName = workerName;
    }

    /// <summary>The worker that runs this step.</summary>
    public string WorkerName { get; }

    /// <inheritdoc />
    public override string ToString() => $"Job('{WorkerName}')";
}

/// <summary>
/// The edges of a pipeline, written the way pypelinin writes its dict: from → to, one-to-one, one-to-many (fan-out)
/// and many-to-one (fan-in). A job on its own is a pipeline of one step.
/// </summary>
/// <example>
/// <code>
/// var graph = new PipelineGraph
/// {
///     { new Job("Downloader"), [new Job("GetTextAndWords"), new Job("GetLinks")] },
///     { [new Job("GetTextAndWords"), new Job("GetLinks")], new Job("Report") },
/// };
/// </code>
/// </example>
public sealed class PipelineGraph : System.Collections.IEnumerable
{
    private readonly List<Job> _jobs = [];
    private readonly List<(Job From, Job To)> _edges = [];

    /// <summary>The jobs, in the order they were first named.</summary>
    public IReadOnlyList<Job> Jobs => _jobs;

    /// <summary>The edges, in the order they were given (repeats included: a pipeline refuses them).</summary>
    public IReadOnlyList<(Job From, Job To)> Edges => _edges;

    /// <summary>Adds a job with no edges of its own.</summary>
    public void Add(Job job) => Node(job);

    /// <summary><paramref name="from"/> runs before <paramref name="to"/>.</summary>
    public void Add(Job from, Job to)
    {
        Node(from);
        Node(to);
        _edges.Add((from, to));
    }

    /// <summary><paramref name="from"/> runs before each of <paramref name="to"/> (fan-out).</summary>
    public void Add(Job from, IReadOnlyList<Job> to) => Add([from], to);

    /// <summary>Each of <paramref name="from"/> runs before <paramref name="to"/> (fan-in).</summary>
    public void Add(IReadOnlyList<Job> from, Job to) => Add(from, [to]);

    /// <summary>Each of <paramref name="from"/> runs before each of <paramref name="to"/>.</summary>
    public void Add(IReadOnlyList<Job> from, IReadOnlyList<Job> to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        if (from.Count == 0 || to.Count == 0) throw new ArgumentException("An edge needs at least one job on each side.");
        foreach (var f in from)
            foreach (var t in to)
                Add(f, t);
    }

    private void Node(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (!_jobs.Contains(job)) _jobs.Add(job);
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => _edges.GetEnumerator();
}
