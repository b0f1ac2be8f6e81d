using System.Diagnostics;

namespace Orleans.Jobs.Tests.Support;

/// <summary>Graphviz's <c>dot</c> for the test run (scripts/graphviz installs it; scripts/test exports OJ_DOT).</summary>
public static class TestGraphviz
{
    public static string Dot =>
        File.Exists("/usr/bin/dot") && Environment.GetEnvironmentVariable("OJ_DOT") is null
            ? "/usr/bin/dot"
            : TestServers.Required("OJ_DOT", "OJ_REQUIRE_GRAPHVIZ", "scripts/graphviz");

    /// <summary>Renders a DOT file to SVG with <c>dot -Tsvg</c>; returns the SVG, or fails with dot's error output.</summary>
    public static async Task<string> RenderSvgAsync(string dotFile, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Dot, ["-Tsvg", dotFile]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dot did not start");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var errors = process.StandardError.ReadToEndAsync(deadline.Token);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        Assert.True(process.ExitCode == 0, $"dot -Tsvg {dotFile} exited {process.ExitCode}: {await errors}");
        return await output;
    }
}
