using Orleans.Jobs.Silo.Sample;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>The README's first command: the built-in sample passes every check on a fresh embedded silo.</summary>
public sealed class SampleWorkloadTests
{
    [Fact]
    public async Task The_sample_workload_passes_every_check()
    {
        await using var app = await StockSilo.StartAsync(StockSilo.Arguments(), SampleWorkload.Configure);

        var output = new StringWriter();
        var passed = await new SampleWorkload(app, output).RunAsync(TestContext.Current.CancellationToken);
        await app.StopAsync(TestContext.Current.CancellationToken);

        Assert.True(passed, output.ToString());
        Assert.Contains("all 23 checks passed", output.ToString());
        Assert.Contains("All jobs are exhausted, terminating.", output.ToString());
        Assert.Contains("posting the same grid again skipped 12", output.ToString());
        Assert.Contains("digraph graphname {", output.ToString());
        Assert.Contains("\"Downloader\" -> \"GetLinks\";", output.ToString());
        Assert.Contains("worker B took job", output.ToString());
        Assert.Contains("requeued by hand (Updated): state Available", output.ToString());
    }
}
