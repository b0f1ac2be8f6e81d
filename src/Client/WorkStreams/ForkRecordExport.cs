using System.Text;
using System.Text.Json;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;

namespace Orleans.Jobs.Client.WorkStreams;

/// <summary>
/// Writes one stage's records as JSON lines in Impetus' job layout — <c>id, name, status, created, args, delay,
/// callback, client, result, code</c> (an error's <c>result</c> is its error structure) plus when and where it ran —
/// to <c>stage.ok</c> and <c>stage.err</c>. Written to temporary files and moved into place on <see cref="Commit"/>,
/// so a reader never sees half a file.
/// </summary>
public sealed class ForkRecordExport : IAsyncDisposable
{
    private readonly string _ok;
    private readonly string _err;
    private readonly StreamWriter _okWriter;
    private readonly StreamWriter _errWriter;
    private bool _committed;

    /// <summary>Starts the export of <paramref name="stage"/> into <paramref name="directory"/>.</summary>
    public ForkRecordExport(string directory, string stage)
    {
        WorkStreamRules.ValidateStageName(stage, nameof(stage));
        (_ok, _err) = (Path.Combine(directory, stage + ".ok"), Path.Combine(directory, stage + ".err"));
        _okWriter = new StreamWriter(_ok + ".tmp", append: false, new UTF8Encoding(false));
        _errWriter = new StreamWriter(_err + ".tmp", append: false, new UTF8Encoding(false));
    }

    /// <summary>One record as its JSON line.</summary>
    public static string ToLine(ForkRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            var job = record.Job;
            json.WriteStartObject();
            json.WriteString("id", job.Id);
            json.WriteString("name", job.Name);
            json.WriteString("status", record.Status == ForkStatus.Ready ? "ready" : "error");
            json.WriteString("created", job.Created);
            json.WritePropertyName("args");
            json.WriteRawValue(job.Args);
            json.WriteNumber("delay", job.Delay.TotalSeconds);
            json.WriteNumber("priority", job.Priority);
            json.WriteString("callback", job.Callback);
            json.WriteString("client", job.Client);
            json.WritePropertyName("result");
            if (record.Status == ForkStatus.Ready) json.WriteRawValue(record.Result ?? "null");
            else JsonSerializer.Serialize(json, record.Error, WorkStreamJson.Options);
            json.WriteString("code", job.Code);
            json.WriteString("function", job.Function);
            json.WriteString("stage", job.Stage);
            json.WriteString("started", record.Started);
            json.WriteString("finished", record.Finished);
            json.WriteNumber("attempt", record.Attempt);
            if (record.Worker is not null) json.WriteString("worker", record.Worker);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Writes a record to its file.</summary>
    public Task WriteAsync(ForkRecord record, CancellationToken cancellationToken) =>
        (record.Status == ForkStatus.Ready ? _okWriter : _errWriter).WriteLineAsync(ToLine(record).AsMemory(), cancellationToken);

    /// <summary>Moves both files into place.</summary>
    public void Commit()
    {
        _okWriter.Flush();
        _errWriter.Flush();
        _okWriter.Dispose();
        _errWriter.Dispose();
        File.Move(_ok + ".tmp", _ok, overwrite: true);
        File.Move(_err + ".tmp", _err, overwrite: true);
        _committed = true;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_committed) return;
        await _okWriter.DisposeAsync();
        await _errWriter.DisposeAsync();
        File.Delete(_ok + ".tmp");
        File.Delete(_err + ".tmp");
    }
}
