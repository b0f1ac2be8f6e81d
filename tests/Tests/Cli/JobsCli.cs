using System.Diagnostics;

namespace Orleans.Jobs.Tests.Cli;

/// <summary>Runs the built <c>jobs</c> executable (its build output is copied to jobs-cli/ next to the tests) as a child process, with a deadline.</summary>
public static class JobsCli
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    /// <summary>What one run printed and how it exited.</summary>
    public sealed record Result(int ExitCode, string Out, string Error)
    {
        public override string ToString() => $"exit {ExitCode}{Environment.NewLine}stdout:{Environment.NewLine}{Out}{Environment.NewLine}stderr:{Environment.NewLine}{Error}";
    }

    /// <summary>Runs it and asserts exit code 0, showing its output when not.</summary>
    public static async Task<Result> RunOkAsync(params string[] arguments)
    {
        var result = await RunAsync(arguments);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    public static Task<Result> RunAsync(params string[] arguments) => RunAsync(new Dictionary<string, string>(), arguments);

    /// <summary>Runs it with <paramref name="environment"/> added to this process's (the cluster key always left out).</summary>
    public static async Task<Result> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "jobs-cli", "jobs.dll"));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment.Remove("ORLEANSJOBS_Gateway__ClusterKey");
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(Deadline);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"jobs {string.Join(' ', arguments)} did not exit within {Deadline.TotalSeconds:0}s");
        }

        return new Result(process.ExitCode, await output, await error);
    }
}
