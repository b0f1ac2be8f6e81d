using System.Text.Json;

namespace Orleans.Jobs.Benchmarks.Chaos;

/// <summary>
/// docs/reliability.md: one region per run kind (chaos, soak), so each run rewrites its own part and keeps the other's.
/// The page is read from docs/ (the scripts run from the repository's root) and written to the run's output folder,
/// with the run's figures as JSON next to it; the script copies the page to docs/.
/// </summary>
public static class ReliabilityPage
{
    private const string Heading = "# Reliability";
    private const string Published = "docs/reliability.md";
    private static readonly string[] Order = ["chaos", "soak"];

    public static async Task PublishAsync<T>(string output, string region, T figures, string content)
    {
        Directory.CreateDirectory(output);
        await File.WriteAllTextAsync(Path.Combine(output, $"{region}.json"), JsonSerializer.Serialize(figures, new JsonSerializerOptions(JsonSerializerOptions.Web) { WriteIndented = true }));
        var page = File.Exists(Published) ? await File.ReadAllTextAsync(Published) : "";
        if (!page.StartsWith(Heading, StringComparison.Ordinal) || BenchmarkPage.Find(page, region) is null && !Order.Any(r => BenchmarkPage.Find(page, r) is not null))
            page = $"{Heading}\n\nWhat breaks and what it costs, measured by running it. Each section is rewritten by its own script.\n";
        // A new region goes before the first later region the page has, else at the end (Put's "before" not found).
        var before = Order.SkipWhile(r => r != region).Skip(1).Select(r => $"<!-- bench:{r} -->").FirstOrDefault(m => page.Contains(m, StringComparison.Ordinal));
        page = BenchmarkPage.Put(page, region, BenchmarkPage.Region(region, content), before ?? "<!-- the end -->");
        await File.WriteAllTextAsync(Path.Combine(output, "reliability.md"), page);
    }
}
