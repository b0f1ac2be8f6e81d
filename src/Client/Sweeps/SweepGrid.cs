using System.Text.Json;
using System.Text.Json.Nodes;
using Orleans.Jobs.Grains.Interfaces.Sweeps;

namespace Orleans.Jobs.Client.Sweeps;

/// <summary>
/// A grid of parameters (JobMon's postsweep and post2Dsweep, generalised to N dimensions): each axis is a list of
/// values or a range, and the grid is every combination, the first axis varying slowest.
/// </summary>
/// <example><code>var grid = new SweepGrid().Values("model", "linear", "forest").Range("depth", 1, 4);   // 2 x 4 = 8 sets</code></example>
public sealed class SweepGrid
{
    private readonly List<(string Name, IReadOnlyList<JsonNode?> Values)> _axes = [];

    /// <summary>The axes, in the order they were added.</summary>
    public IReadOnlyList<string> Axes => [.. _axes.Select(a => a.Name)];

    /// <summary>How many parameter sets the grid has.</summary>
    public long Count => _axes.Count == 0 ? 0 : _axes.Aggregate(1L, (n, a) => n * a.Values.Count);

    /// <summary>Adds an axis of listed values (anything JSON-serialisable).</summary>
    /// <exception cref="ArgumentException">The name is taken or empty, there are no values, or a value is not JSON-serialisable.</exception>
    public SweepGrid Values<T>(string name, params IEnumerable<T> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var nodes = new List<JsonNode?>();
        foreach (var value in values)
        {
            try
            {
                nodes.Add(JsonSerializer.SerializeToNode(value, JsonSerializerOptions.Web));
            }
            catch (Exception e) when (e is NotSupportedException or JsonException or ArgumentException or InvalidOperationException)
            {
                throw new ArgumentException($"A value of parameter '{name}' ({value?.GetType().Name ?? "null"}) is not JSON-serialisable: {e.Message}", nameof(values), e);
            }
        }

        return Axis(name, nodes);
    }

    /// <summary>Adds an axis of integers from <paramref name="start"/> to <paramref name="stop"/> inclusive, by <paramref name="step"/>.</summary>
    /// <exception cref="ArgumentException">The step is zero or points away from <paramref name="stop"/>.</exception>
    public SweepGrid Range(string name, long start, long stop, long step = 1)
    {
        if (step == 0 || (stop - start) / (double)step < 0)
            throw new ArgumentException($"Range '{name}' from {start} to {stop} by {step} is empty or endless: the step must be non-zero and point towards the stop.", nameof(step));
        var values = new List<JsonNode?>();
        for (var v = start; step > 0 ? v <= stop : v >= stop; v += step) values.Add(JsonValue.Create(v));
        return Axis(name, values);
    }

    /// <summary>Adds an axis of <paramref name="count"/> evenly spaced numbers from <paramref name="start"/> to <paramref name="stop"/> inclusive (like numpy's linspace).</summary>
    /// <exception cref="ArgumentException">The count is below 1, or a bound is not a finite number.</exception>
    public SweepGrid Linear(string name, double start, double stop, int count)
    {
        if (count < 1 || !double.IsFinite(start) || !double.IsFinite(stop))
            throw new ArgumentException($"Linear range '{name}' needs finite bounds and a count of at least 1 (got {start}, {stop}, {count}).", nameof(count));
        return Axis(name, [.. Enumerable.Range(0, count).Select(i => (JsonNode?)JsonValue.Create(count == 1 ? start : start + (stop - start) * i / (count - 1)))]);
    }

    /// <summary>Every parameter set of the grid as canonical JSON objects, first axis slowest.</summary>
    public IEnumerable<SweepParameters> ParameterSets()
    {
        if (_axes.Count == 0) yield break;
        var index = new int[_axes.Count];
        while (true)
        {
            var set = new JsonObject();
            for (var a = 0; a < _axes.Count; a++) set[_axes[a].Name] = _axes[a].Values[index[a]]?.DeepClone();
            yield return new SweepParameters(SweepRules.Canonical(set.ToJsonString()));
            var axis = _axes.Count - 1;
            while (axis >= 0 && ++index[axis] == _axes[axis].Values.Count) index[axis--] = 0;
            if (axis < 0) yield break;
        }
    }

    private SweepGrid Axis(string name, List<JsonNode?> values)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A parameter needs a name.", nameof(name));
        if (_axes.Any(a => a.Name == name)) throw new ArgumentException($"Parameter '{name}' is already an axis of the grid.", nameof(name));
        if (values.Count == 0) throw new ArgumentException($"Parameter '{name}' has no values.", nameof(name));
        if (Math.Max(1, Count) * values.Count > SweepRules.MaxParameterSets)
            throw new ArgumentException($"The grid would have {Math.Max(1, Count) * values.Count} parameter sets; a posting may have at most {SweepRules.MaxParameterSets}.", nameof(name));
        _axes.Add((name, values));
        return this;
    }
}
