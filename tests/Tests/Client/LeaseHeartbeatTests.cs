using Orleans.Jobs.Client.Queues;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Jobs;
using Orleans.Jobs.Runtime.Proxies;
using Orleans.Jobs.Silo.Testing;

namespace Orleans.Jobs.Tests.Client;

public sealed class LeaseHeartbeatTests
{
    /// <summary>A queue whose renewals block until told how to end.</summary>
    private sealed class ScriptedQueue : IGrainCallInvoker
    {
        public TaskCompletionSource RenewStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<JobUpdateOutcome> RenewResult { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Renewals;

        public async Task<object?> InvokeAsync(GrainId grain, GrainMethod method, object?[] arguments)
        {
            Assert.Equal(nameof(IQueueGrain.RenewLeaseAsync), method.Name);
            Interlocked.Increment(ref Renewals);
            RenewStarted.TrySetResult();
            return await RenewResult.Task;
        }
    }

    private static (ScriptedQueue Script, LeaseHeartbeat Heartbeat, ManualTimeProvider Clock) Start()
    {
        var clock = new ManualTimeProvider();
        var script = new ScriptedQueue();
        var queue = GrainProxy.Create<IQueueGrain>("q", script);
        var job = new ClaimedJob(1, "q", "data", 0, 1, 3, Guid.NewGuid(), TimeSpan.FromSeconds(30), clock.GetUtcNow() + TimeSpan.FromSeconds(30), clock.GetUtcNow());
        return (script, new LeaseHeartbeat(queue, job, clock), clock);
    }

    [Fact]
    public async Task Stopping_while_a_renewal_fails_does_not_throw()
    {
        var (script, heartbeat, clock) = Start();
        clock.Advance(TimeSpan.FromSeconds(10)); // a third of the lease: the first renewal starts
        await Eventually.WithinAsync(script.RenewStarted.Task.ContinueWith(_ => true), "the renewal to start");

        var stopping = heartbeat.DisposeAsync().AsTask();
        script.RenewResult.SetException(new InvalidOperationException("store down"));
        await Eventually.WithinAsync(stopping.ContinueWith(t => t.IsCompletedSuccessfully), "the heartbeat to stop");
        Assert.True(stopping.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_refused_renewal_marks_the_lease_lost()
    {
        var (script, heartbeat, clock) = Start();
        script.RenewResult.SetResult(JobUpdateOutcome.LeaseLost);
        clock.Advance(TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(() => heartbeat.IsLost, "the lease to be marked lost");
        Assert.True(heartbeat.LeaseLost.IsCancellationRequested);
        await heartbeat.DisposeAsync();
        Assert.True(heartbeat.LeaseLost.IsCancellationRequested); // still readable after the heartbeat stopped
        Assert.Equal(1, script.Renewals);
    }
}
