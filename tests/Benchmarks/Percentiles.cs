namespace Orleans.Jobs.Benchmarks;

public static class Percentiles
{
    /// <summary>The nearest-rank percentile of a sample.</summary>
    public static double Of(IReadOnlyList<double> values, double percentile)
    {
        var sorted = values.Order().ToList();
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
    }
}
