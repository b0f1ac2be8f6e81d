using Orleans.Jobs.Client.WorkStreams;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;

namespace Orleans.Jobs.Tests.WorkStreams;

/// <summary>Process isolation: each worker a child process of its silo, so job code that kills its process takes down only that child.</summary>
public abstract partial class WorkStreamClusterTests
{
    private static int Square(int i) => i * i;

    [Fact]
    public async Task With_process_isolation_forks_run_in_child_processes_and_one_that_kills_its_process_ends_as_an_error_while_the_rest_complete()
    {
        var (ready, errors) = (new List<ForkRecord>(), new List<ForkRecord>());
        var client = new WorkStreamClient(Grains, WorkStreamCluster.ClusterKey, new WorkStreamClientOptions
        {
            Id = NewId("isolated"),
            Log = TextWriter.Null,
            StallTimeout = StallTimeout,
            Properties = new WorkStreamProperties { Isolation = WorkerIsolation.Process, MaxWorkersPerNode = 2, MaxAttempts = 2 },
        })
            .Startup("start", async stage =>
            {
                for (var i = 0; i < 20; i++) await stage.ForkAsync(ForkProbes.SquareInProcess, i);
            })
            .Process("stage1", (_, r, e) =>
            {
                (ready, errors) = ([.. r], [.. e]);
                return Task.CompletedTask;
            });

        await client.RunAsync(Ct);

        var crashed = Assert.Single(errors);
        Assert.Equal("start/13", crashed.Job.Id);
        Assert.Contains("the worker died on the last of 2 runs", crashed.Error!.Error);
        Assert.Equal(2, crashed.Attempt); // run again once after the first child died
        Assert.Equal(19, ready.Count);
        var answers = ready.Select(r => r.ResultAs<int[]>()).ToList();
        Assert.All(ready.Zip(answers), pair => Assert.Equal(Square(int.Parse(pair.First.Job.Id["start/".Length..])), pair.Second[0]));
        // Every fork ran in a child process, named in its record: never in this process, which hosts the silos.
        Assert.DoesNotContain(Environment.ProcessId, answers.Select(a => a[1]));
        Assert.All(ready.Zip(answers), pair => Assert.EndsWith($"/pid {pair.Second[1]}", pair.First.Worker));
        // The silos lived on: they still run forks, in their own process too.
        var after = 0;
        await new WorkStreamClient(Grains, WorkStreamCluster.ClusterKey, new WorkStreamClientOptions { Id = NewId("after-crash"), Log = TextWriter.Null, StallTimeout = StallTimeout })
            .Startup("start", stage => stage.ForkAsync(ForkProbes.Square, 7).AsTask())
            .Process("stage1", (_, r, _) => { after = r.Single().ResultAs<int>(); return Task.CompletedTask; })
            .RunAsync(Ct);
        Assert.Equal(49, after);
    }
}
