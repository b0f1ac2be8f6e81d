using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orleans.Jobs.Grains.Interfaces.Pipelines;

namespace Orleans.Jobs.Storage.Pipelines;

/// <summary>
/// A pipeline store on a directory (pypelinin's SimpleFileStore): one JSON document per pipeline at
/// <c>{directory}/{pipelineId}.json</c>, holding the keys its steps saved. Silos on several nodes can share it on a
/// shared file system whose locks work across nodes; for a cluster, prefer the PostgreSQL store.
/// <para>
/// A save reads, merges and rewrites the document while holding the pipeline's lock: a semaphore in this process and
/// an exclusive lock on <c>{pipelineId}.json.lock</c> across processes. The new document is written to a temporary
/// file and moved over the old one, so a crash never leaves half a document and reads need no lock. A document that
/// is not a JSON object is reported, naming the file, and never overwritten.
/// </para>
/// </summary>
public sealed class FilePipelineStore : PipelineDocumentStore
{
    /// <summary>Default of the lock timeout: how long a save waits for another process to release a pipeline's lock.</summary>
    public static readonly TimeSpan DefaultLockTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMilliseconds(50);
    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    private readonly Dictionary<string, PathGate> _gates = new(StringComparer.Ordinal);
    private readonly TimeSpan _lockTimeout;

    /// <summary>Creates the store on <paramref name="directory"/>, creating the directory if needed.</summary>
    /// <param name="directory">Where the documents are.</param>
    /// <param name="lockTimeout">How long a save waits for a pipeline's lock; <see cref="DefaultLockTimeout"/> when null.</param>
    /// <exception cref="ArgumentException">The directory is empty, or the timeout is not positive.</exception>
    public FilePipelineStore(string directory, TimeSpan? lockTimeout = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _lockTimeout = lockTimeout ?? DefaultLockTimeout;
        if (_lockTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(lockTimeout), lockTimeout, "lockTimeout must be positive.");
        Directory = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(Directory);
    }

    /// <summary>The full path of the directory holding the documents.</summary>
    public string Directory { get; }

    /// <summary>The document of <paramref name="pipelineId"/>: <c>{Directory}/{pipelineId}.json</c>.</summary>
    /// <exception cref="ArgumentException">The id breaks <see cref="PipelineRules.ValidatePipelineId"/>.</exception>
    public string PathOf(string pipelineId)
    {
        // Ids start with a letter or digit and hold no separator, so the path cannot leave the directory.
        PipelineRules.ValidatePipelineId(pipelineId, nameof(pipelineId));
        return Path.Combine(Directory, pipelineId + ".json");
    }

    /// <inheritdoc />
    protected override Task<JsonObject?> LoadAsync(string pipelineId, CancellationToken cancellationToken) =>
        ReadDocumentAsync(PathOf(pipelineId), cancellationToken);

    /// <inheritdoc />
    protected override async Task MergeAsync(PipelineJobInfo job, JsonObject result, CancellationToken cancellationToken)
    {
        var path = PathOf(job.PipelineId);
        var gate = EnterGate(path);
        try
        {
            await gate.Semaphore.WaitAsync(cancellationToken);
            try
            {
                await using var crossProcess = await LockFileAsync(path + ".lock", cancellationToken);
                var document = await ReadDocumentAsync(path, cancellationToken) ?? [];
                foreach (var (key, value) in result)
                    document[key] = value?.DeepClone();
                await WriteAtomicallyAsync(path, document, cancellationToken);
            }
            finally
            {
                gate.Semaphore.Release();
            }
        }
        finally
        {
            LeaveGate(path, gate);
        }
    }

    private static async Task<JsonObject?> ReadDocumentAsync(string path, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(path, cancellationToken);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        JsonObject? document;
        try
        {
            document = JsonNode.Parse(bytes) as JsonObject;
            _ = document?.Count; // JsonObject reads its properties lazily: a duplicate key would surface here
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"The pipeline document '{path}' is not valid JSON ({e.Message}). It was left as it is: fix or remove it.", e);
        }

        return document ?? throw new InvalidDataException($"The pipeline document '{path}' is not a JSON object. It was left as it is: fix or remove it.");
    }

    /// <summary>Writes a temporary file next to <paramref name="path"/>, flushed to disk, and moves it over the document.</summary>
    private static async Task WriteAtomicallyAsync(string path, JsonObject document, CancellationToken cancellationToken)
    {
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
            {
                await using (var writer = new Utf8JsonWriter(file, Indented))
                {
                    document.WriteTo(writer);
                    await writer.FlushAsync(cancellationToken);
                }

                file.Flush(flushToDisk: true); // durable before the rename makes it the document
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary); // nothing there after a successful move
        }
    }

    /// <summary>
    /// Opens the lock file exclusively, retrying with a growing delay while another process holds it, until the lock
    /// timeout. The file stays after use: deleting it would let a waiter lock the old file while a newcomer locks a new one.
    /// </summary>
    private async Task<FileStream> LockFileAsync(string lockPath, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var delay = FirstRetryDelay;
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (e.GetType() == typeof(IOException)) // held elsewhere; a missing directory is a subclass and fails at once
            {
                if (Stopwatch.GetElapsedTime(started) >= _lockTimeout)
                    throw new TimeoutException($"Could not lock the pipeline document '{lockPath}' within {_lockTimeout}: another process holds it ({e.Message}).", e);
                await Task.Delay(delay + TimeSpan.FromMilliseconds(Random.Shared.Next(2)), cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    /// <summary>The in-process gate of a path, counted so that gates of pipelines nobody saves any more are dropped.</summary>
    private PathGate EnterGate(string path)
    {
        lock (_gates)
        {
            if (!_gates.TryGetValue(path, out var gate)) _gates[path] = gate = new PathGate();
            gate.Users++;
            return gate;
        }
    }

    private void LeaveGate(string path, PathGate gate)
    {
        lock (_gates)
        {
            if (--gate.Users == 0) _gates.Remove(path);
        }
    }

    private sealed class PathGate
    {
        public readonly SemaphoreSlim Semaphore = new(1, 1);
        public int Users;
    }
}
