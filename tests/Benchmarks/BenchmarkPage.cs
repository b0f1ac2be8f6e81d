namespace Orleans.Jobs.Benchmarks;

/// <summary>
/// Named regions of docs/benchmarks.md, each between two HTML comments, so a run of only some sections can replace its
/// own region in the last page and leave every other figure as it was.
/// </summary>
public static class BenchmarkPage
{
    /// <summary><paramref name="content"/> between the markers of region <paramref name="name"/>.</summary>
    public static string Region(string name, string content) => $"{Begin(name)}\n{content.TrimEnd()}\n{End(name)}\n";

    /// <summary>Region <paramref name="name"/> of <paramref name="page"/>, markers included; null when the page has none.</summary>
    public static string? Find(string page, string name) => Span(page, name) is var (start, length) ? page.Substring(start, length) : null;

    /// <summary>What region <paramref name="name"/> of <paramref name="page"/> holds between its markers; null when the page has none.</summary>
    public static string? Content(string page, string name) =>
        Find(page, name) is { } region ? region[(Begin(name).Length + 1)..region.LastIndexOf(End(name), StringComparison.Ordinal)] : null;

    /// <summary>
    /// <paramref name="page"/> with <paramref name="region"/> (from <see cref="Region"/>) in place of its region
    /// <paramref name="name"/>; a page without one gets it before the line <paramref name="before"/>, or at the end.
    /// </summary>
    public static string Put(string page, string name, string region, string before)
    {
        if (Span(page, name) is var (start, length)) return page[..start] + region + page[(start + length)..];
        var at = page.IndexOf("\n" + before, StringComparison.Ordinal);
        return at < 0 ? page.TrimEnd() + "\n\n" + region : page[..(at + 1)] + region + "\n" + page[(at + 1)..];
    }

    private static string Begin(string name) => $"<!-- bench:{name} -->";

    private static string End(string name) => $"<!-- /bench:{name} -->";

    /// <summary>Where the region starts and how long it is, its end marker's line break included.</summary>
    private static (int Start, int Length)? Span(string page, string name)
    {
        var start = page.IndexOf(Begin(name), StringComparison.Ordinal);
        var end = start < 0 ? -1 : page.IndexOf(End(name), start, StringComparison.Ordinal);
        if (end < 0) return null;
        end += End(name).Length;
        if (end < page.Length && page[end] == '\n') end++;
        return (start, end - start);
    }
}
