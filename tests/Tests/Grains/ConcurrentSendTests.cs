using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Tests.Grains;

/// <summary>One silo, so every send of a test goes through one data plane and is written together with the others.</summary>
public abstract class OneSiloCluster : StoreClusterFixture
{
    protected override int SiloCount => 1;

    protected override JobsClusterBuilder Configure(JobsClusterBuilder builder) => builder;
}

public sealed class InMemoryOneSiloCluster : OneSiloCluster
{
    protected override StoreKind Kind => StoreKind.InMemory;
}

public sealed class PostgresOneSiloCluster : OneSiloCluster
{
    protected override StoreKind Kind => StoreKind.Postgres;
}

public sealed class InMemoryConcurrentSendTests(InMemoryOneSiloCluster fixture) : ConcurrentSendTests(fixture), IClassFixture<InMemoryOneSiloCluster>;

public sealed class PostgresConcurrentSendTests(PostgresOneSiloCluster fixture) : ConcurrentSendTests(fixture), IClassFixture<PostgresOneSiloCluster>;

/// <summary>
/// Many sends at once through one silo's queue grains, to three queues: each keeps its own ids, jobs and options, and a
/// bad send among them is refused on its own while the others are stored.
/// </summary>
public abstract class ConcurrentSendTests(OneSiloCluster fixture)
{
    private const int Sends = 300;
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Send <paramref name="i"/>: its queue, its jobs (one to three, with their own options), and whether a rule refuses it.</summary>
    private static (int Queue, JobMessage[] Jobs, string? RefusedField) SendNumber(int i)
    {
        JobMessage Job(int j) => new($"send {i} job {j}", new SendOptions { Priority = i % 7 - 3, MaxAttempts = 1 + (i + j) % 5, Delay = i % 11 == 0 ? TimeSpan.FromHours(1) : null }, Expedite: i % 13 == 0);
        var jobs = Enumerable.Range(0, 1 + i % 3).Select(Job).ToArray();
        if (i % 29 == 5) return (i % 3, [.. jobs, new JobMessage("bad", new SendOptions { Priority = QueueLimits.MaxPriority + 1 })], $"jobs[{jobs.Length}].Priority");
        if (i % 29 == 17) return (i % 3, [new JobMessage($"send {i} NUL \0")], "payload");
        return (i % 3, jobs, null);
    }

    [Fact]
    public async Task Concurrent_sends_through_one_silo_each_store_their_own_jobs_once_and_a_bad_one_fails_alone()
    {
        var queues = Enumerable.Range(0, 3).Select(q => $"together-{q}-{Guid.NewGuid():N}"[..24]).ToArray();
        var sends = Enumerable.Range(0, Sends).Select(SendNumber).ToArray();
        var grains = queues.Select(q => fixture.Cluster.Client.GetGrain<IQueueGrain>(q)).ToArray();

        // All at once: a send's answer is its ids, or the exception that refused it.
        var answers = await Task.WhenAll(sends.Select(async send =>
        {
            try
            {
                var grain = grains[send.Queue];
                if (send.Jobs is not [var one]) return (Ids: await grain.SendBatchAsync(send.Jobs), Error: (Exception?)null);
                return (Ids: [await (one.Expedite ? grain.ExpediteAsync(one.Payload, one.Options) : grain.SendAsync(one.Payload, one.Options))], Error: null);
            }
            catch (Exception e)
            {
                return (Ids: (IReadOnlyList<long>)[], Error: e);
            }
        })).WaitAsync(Deadline, Ct);

        var stored = new List<long>();
        for (var i = 0; i < Sends; i++)
        {
            var (queue, jobs, refusedField) = sends[i];
            var (ids, error) = answers[i];
            if (refusedField is not null)
            {
                var refusal = Assert.IsAssignableFrom<ArgumentException>(error);
                Assert.Contains(refusedField, refusal.Message);
                continue;
            }

            Assert.Null(error);
            Assert.Equal(jobs.Length, ids.Count);
            Assert.Equal(ids.Order(), ids);
            for (var j = 0; j < jobs.Length; j++)
            {
                var job = await grains[queue].GetJobAsync(ids[j]);
                Assert.NotNull(job);
                Assert.Equal((jobs[j].Payload, jobs[j].Options!.Priority, jobs[j].Options!.MaxAttempts!.Value, JobState.Available),
                    (job.Payload, job.Priority, job.MaxAttempts, job.State));
                if (jobs[j].Options!.Delay is { } delay) Assert.True(job.VisibleAt - job.EnqueuedAt >= delay - TimeSpan.FromSeconds(5), $"send {i}'s job {j} is delayed");
            }

            stored.AddRange(ids);
        }

        Assert.Equal(stored.Count, stored.Distinct().Count()); // no id twice, across queues too
        for (var q = 0; q < queues.Length; q++)
        {
            var good = sends.Where(s => s.Queue == q && s.RefusedField is null).ToList();
            var counts = await grains[q].GetCountsAsync();
            Assert.Equal(good.Where(s => s.Jobs[0].Options!.Delay is null).Sum(s => s.Jobs.Length), counts.Available); // nothing of a refused send
            Assert.Equal(good.Where(s => s.Jobs[0].Options!.Delay is not null).Sum(s => s.Jobs.Length), counts.Scheduled);
        }
    }
}
