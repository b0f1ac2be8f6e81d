using System.Diagnostics;
using Orleans.Jobs.Client.Code;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;

namespace Orleans.Jobs.Client.WorkStreams;

/// <summary>A process stage: it gets the records that reached it, ready and errors apart, and may fork on.</summary>
public delegate Task ProcessStage(StageContext stage, IReadOnlyList<ForkRecord> ready, IReadOnlyList<ForkRecord> errors);

/// <summary>The shutdown stage: the last process stage's records and the stream's final progress.</summary>
public delegate Task ShutdownStage(IReadOnlyList<ForkRecord> ready, IReadOnlyList<ForkRecord> errors, WorkStreamProgress progress);

/// <summary>
/// Impetus' <c>Client</c>: a startup stage forks functions, each process stage receives the records of the forks sent
/// to it (<c>ready</c> and <c>errors</c>) and may fork on, and a shutdown stage gets the final progress. Forked
/// functions travel as posted code, so silos need not have them deployed. The client's id is its stream's: a client
/// run again with the same id after a crash reattaches, skips the stages it finished, and receives the records it
/// had not taken.
/// <code>
/// var client = new WorkStreamClient(grains, clusterKey)
///     .Startup("start", async s => { for (var i = 0; i &lt; 100; i++) await s.ForkAsync(Functions.Pow, i); })
///     .Process("stage1", (s, ready, errors) => { Console.WriteLine($"Total: {ready.Sum(r => r.ResultAs&lt;int&gt;())}"); return Task.CompletedTask; })
///     .Shutdown((ready, errors, progress) => { Console.WriteLine("shutting down"); return Task.CompletedTask; });
/// await client.RunAsync();
/// </code>
/// </summary>
public sealed class WorkStreamClient
{
    private static readonly TimeSpan ReadWait = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long past its wait a read may take before it is made again. A read in flight when its stream's silo dies
    /// gets no answer, and Orleans would wait its response timeout (minutes, for a read that may wait); made again,
    /// it reaches the stream's new activation once membership has declared the silo dead.
    /// </summary>
    private static readonly TimeSpan ReadAnswerMargin = TimeSpan.FromSeconds(10);
    private const int ReadMax = 1_000;

    private readonly IGrainFactory _grains;
    private readonly WorkStreamClientOptions _options;
    private readonly PostedCode _code;
    private readonly List<(string Name, Func<StageContext, Task>? Startup, ProcessStage? Process)> _stages = [];
    private readonly Dictionary<string, (long Ready, long Errors)> _received = new(StringComparer.Ordinal);
    private ShutdownStage? _shutdown;

    /// <summary>Creates a client; add its stages, then <see cref="RunAsync"/>.</summary>
    /// <param name="grains">An Orleans client (or any grain factory).</param>
    /// <param name="clusterKey">The cluster key, to post the forked functions' code.</param>
    /// <param name="options">Id, properties, task directory.</param>
    /// <exception cref="ArgumentException">An option breaks its rule.</exception>
    public WorkStreamClient(IGrainFactory grains, string clusterKey, WorkStreamClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(grains);
        _options = options ?? new WorkStreamClientOptions();
        _options.Validate();
        _grains = grains;
        _code = new PostedCode(grains, clusterKey);
        Id = _options.Id ?? Guid.NewGuid().ToString("D");
    }

    /// <summary>The client's id, which is its stream's (Impetus' <c>My Id</c>).</summary>
    public string Id { get; }

    /// <summary>Sets the startup stage, which runs first and forks.</summary>
    /// <exception cref="ArgumentException">The name is invalid or taken.</exception>
    /// <exception cref="InvalidOperationException">There is a startup stage already, or process stages were added first.</exception>
    public WorkStreamClient Startup(string name, Func<StageContext, Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (_stages.Count > 0) throw new InvalidOperationException("The startup stage comes first and once: add it before any process stage.");
        return Add(name, body, null);
    }

    /// <summary>Adds a process stage: it receives the records of forks whose callback it is.</summary>
    /// <exception cref="ArgumentException">The name is invalid or taken.</exception>
    /// <exception cref="InvalidOperationException">There is no startup stage yet.</exception>
    public WorkStreamClient Process(string name, ProcessStage body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (_stages.Count == 0) throw new InvalidOperationException("Add the startup stage before process stages: it makes the first forks.");
        return Add(name, null, body);
    }

    /// <summary>Sets the shutdown stage.</summary>
    public WorkStreamClient Shutdown(ShutdownStage body)
    {
        _shutdown = body ?? throw new ArgumentNullException(nameof(body));
        return this;
    }

    /// <summary>Opens (or reattaches to) the stream, runs the stages in order, exports their records, then closes the stream.</summary>
    /// <exception cref="InvalidOperationException">No startup stage or no process stage.</exception>
    /// <exception cref="TimeoutException">A stage got no record for <see cref="WorkStreamClientOptions.StallTimeout"/> while forks were outstanding.</exception>
    public async Task<WorkStreamRunSummary> RunAsync(CancellationToken cancellationToken = default)
    {
        if (_stages.Count < 2) throw new InvalidOperationException("A work-stream client needs a startup stage and at least one process stage.");
        var log = _options.Log ?? Console.Out;
        var stream = _grains.GetGrain<IWorkStreamGrain>(Id);
        var info = await stream.OpenAsync(new WorkStreamDefinition([.. _stages.Select(s => s.Name)], _options.Properties)).WaitAsync(cancellationToken);
        log.WriteLine(info.Created ? $"My Id: {Id}" : $"My Id: {Id} (reattached to its stream, opened {info.OpenedAt:u})");
        var functions = new ForkedFunctions(_code, Id);
        var progress = await stream.GetProgressAsync().WaitAsync(cancellationToken);
        var (ready, errors) = (new List<ForkRecord>(), new List<ForkRecord>());
        long readyCount = 0, errorCount = 0;

        for (var i = 0; i < _stages.Count; i++)
        {
            var (name, startup, process) = _stages[i];
            if (progress.Stages[i].Complete) continue;
            var context = new StageContext(Id, name, i + 1 < _stages.Count ? _stages[i + 1].Name : null, stream, functions, progress.Stages[i].ForkedWhenTaken, cancellationToken);
            if (startup is not null)
            {
                await startup(context);
                await context.FlushAsync();
                await stream.CompleteStageAsync(name, 0).WaitAsync(cancellationToken);
            }
            else
            {
                (ready, errors) = await RunProcessStageAsync(stream, context, process!, progress.Stages[i].Taken, log, cancellationToken);
                readyCount += ready.Count;
                errorCount += errors.Count;
            }

            await ExportAsync(stream, name, cancellationToken);
            progress = await stream.GetProgressAsync().WaitAsync(cancellationToken);
            WriteProgress(log, progress);
            if (process is not null) log.WriteLine($"{DateTimeOffset.Now:yyyy-MM-dd HH:mm:ss.ffffff} {name} completed");
        }

        if (_shutdown is not null) await _shutdown(ready, errors, progress);
        await stream.CloseAsync().WaitAsync(cancellationToken);
        progress = await stream.GetProgressAsync().WaitAsync(cancellationToken);
        return new WorkStreamRunSummary(Id, !info.Created, progress, readyCount, errorCount);
    }

    /// <summary>
    /// Reads the stage's records after <paramref name="taken"/> and hands them to the stage — all at once when every
    /// one has arrived (Impetus), or in batches as they arrive — then marks the stage complete.
    /// </summary>
    private async Task<(List<ForkRecord> Ready, List<ForkRecord> Errors)> RunProcessStageAsync(
        IWorkStreamGrain stream, StageContext context, ProcessStage process, long taken, TextWriter log, CancellationToken cancellationToken)
    {
        var (ready, errors) = (new List<ForkRecord>(), new List<ForkRecord>());
        var (batchReady, batchErrors) = (new List<ForkRecord>(), new List<ForkRecord>());
        var batch = _options.StageBatchSize;
        var lastNews = Stopwatch.StartNew();
        var reported = Stopwatch.StartNew();
        while (true)
        {
            ForkResultPage page;
            try
            {
                page = await stream.ReadResultsAsync(context.Stage, taken, batch ?? ReadMax, ReadWait).WaitAsync(ReadWait + ReadAnswerMargin, cancellationToken);
            }
            catch (TimeoutException) when (lastNews.Elapsed < _options.StallTimeout)
            {
                continue; // no answer: the stream's silo died with the read in flight
            }

            foreach (var record in page.Records)
            {
                (record.Status == ForkStatus.Ready ? batchReady : batchErrors).Add(record);
                var (r, e) = _received.GetValueOrDefault(context.Stage);
                _received[context.Stage] = record.Status == ForkStatus.Ready ? (r + 1, e) : (r, e + 1);
                taken = record.Sequence;
            }

            var done = page.AllArrived && taken >= page.Head;
            if (page.Records.Count > 0) lastNews.Restart();
            if (batch is { } size && (batchReady.Count + batchErrors.Count >= size || (done && batchReady.Count + batchErrors.Count > 0)))
            {
                await process(context, batchReady, batchErrors);
                await context.FlushAsync();
                await stream.AcknowledgeAsync(context.Stage, taken).WaitAsync(cancellationToken);
                ready.AddRange(batchReady);
                errors.AddRange(batchErrors);
                (batchReady, batchErrors) = ([], []);
            }

            if (done) break;
            if (lastNews.Elapsed >= _options.StallTimeout)
                throw new TimeoutException($"Stage '{context.Stage}' of stream {Id} got no record for {_options.StallTimeout}: {page.Expected - page.Head} of its {page.Expected} forks have none yet{(page.InputClosed ? "" : ", and earlier stages are not complete")}. Are silos running (every silo is a node)? The forks may still run: run the client again with this id to reattach.");
            if (reported.Elapsed >= TimeSpan.FromSeconds(5))
            {
                WriteProgress(log, await stream.GetProgressAsync().WaitAsync(cancellationToken));
                reported.Restart();
            }
        }

        if (batch is null)
        {
            await process(context, batchReady, batchErrors);
            await context.FlushAsync();
            (ready, errors) = (batchReady, batchErrors);
        }

        await stream.CompleteStageAsync(context.Stage, taken).WaitAsync(cancellationToken);
        return (ready, errors);
    }

    /// <summary>
    /// Impetus' progress line for each stage that forked: <c>thread: start 100/0 -> stage1 0/100 via stage1</c> is
    /// the stage, its forks / those without a record yet, then the stage its forks went to, the errors / ready records
    /// this run received there.
    /// </summary>
    private void WriteProgress(TextWriter log, WorkStreamProgress progress)
    {
        for (var i = 0; i < progress.Stages.Count - 1; i++)
        {
            var (from, to) = (progress.Stages[i], progress.Stages[i + 1]);
            if (i > 0 && from.Forked == 0) continue;
            var (ready, errors) = _received.GetValueOrDefault(to.Name);
            log.WriteLine($"thread: {from.Name} {from.Forked}/{Math.Max(0, to.Expected - to.Received)} -> {to.Name} {errors}/{ready} via {to.Name}");
        }
    }

    /// <summary>Writes the stage's records, read afresh from its result log, to <c>stage.ok</c> and <c>stage.err</c> (replacing earlier files, so a rerun never duplicates a line).</summary>
    private async Task ExportAsync(IWorkStreamGrain stream, string stage, CancellationToken cancellationToken)
    {
        if (_options.TaskDirectory is null) return;
        var directory = Path.Combine(_options.TaskDirectory, Id);
        Directory.CreateDirectory(directory);
        await using var export = new ForkRecordExport(directory, stage);
        for (long after = 0; ;)
        {
            var page = await stream.ReadResultsAsync(stage, after, ReadMax, TimeSpan.Zero).WaitAsync(cancellationToken);
            foreach (var record in page.Records) await export.WriteAsync(record, cancellationToken);
            if (page.Records.Count == 0 || page.Records[^1].Sequence >= page.Head) break;
            after = page.Records[^1].Sequence;
        }

        export.Commit();
    }

    private WorkStreamClient Add(string name, Func<StageContext, Task>? startup, ProcessStage? process)
    {
        WorkStreamRules.ValidateStageName(name, nameof(name));
        if (_stages.Any(s => s.Name == name)) throw new ArgumentException($"Stage '{name}' was added already: stage names are unique.", nameof(name));
        if (_stages.Count == WorkStreamRules.MaxStages) throw new ArgumentException($"A client has at most {WorkStreamRules.MaxStages} stages.", nameof(name));
        _stages.Add((name, startup, process));
        return this;
    }
}
