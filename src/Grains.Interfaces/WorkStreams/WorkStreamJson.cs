using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orleans.Jobs.Grains.Interfaces.WorkStreams;

/// <summary>
/// How forks and their records are written as JSON: in the stream's queue (job payloads), in its result logs, and
/// in the client's exported <c>.ok</c>/<c>.err</c> files. One set of options, so every reader parses what every writer wrote.
/// </summary>
public static class WorkStreamJson
{
    /// <summary>camelCase names, enums as text.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>A fork as a job payload.</summary>
    public static string Write(ForkJob job) => JsonSerializer.Serialize(job, Options);

    /// <summary>A record as a result-log entry.</summary>
    public static string Write(ForkRecord record) => JsonSerializer.Serialize(record, Options);

    /// <summary>Reads a job payload.</summary>
    /// <exception cref="ArgumentException">It is not a fork.</exception>
    public static ForkJob ReadJob(string payload)
    {
        try
        {
            return JsonSerializer.Deserialize<ForkJob>(payload, Options) ?? throw new JsonException("the payload is JSON null");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"The job is not a work-stream fork: {e.Message}", nameof(payload), e);
        }
    }

    /// <summary>Reads a result-log entry, giving it its sequence.</summary>
    /// <exception cref="InvalidDataException">It is not a record.</exception>
    public static ForkRecord ReadRecord(string payload, long sequence)
    {
        try
        {
            var record = JsonSerializer.Deserialize<ForkRecord>(payload, Options) ?? throw new JsonException("the entry is JSON null");
            return record with { Sequence = sequence };
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Result-log entry {sequence} is not a fork record: {e.Message}", e);
        }
    }
}
