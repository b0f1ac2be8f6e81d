using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Silo.Workers;

namespace Orleans.Jobs.Tests.Workers;

/// <summary>The worker's pure decisions, case by case: what to record after a handler ran, and what a recording attempt means.</summary>
public sealed class JobOutcomesTests
{
    [Fact]
    public void A_handler_that_returns_finishes_the_job_with_its_result() =>
        Assert.Equal(new SettleAction(SettleKind.Finish, "42"), JobOutcomes.AfterHandler(null, "42", siloGone: false, leaseLost: false, shuttingDown: false));

    [Fact]
    public void A_handler_that_throws_fails_the_attempt_with_the_exception_named()
    {
        var action = JobOutcomes.AfterHandler(new InvalidOperationException("disk full"), null, false, false, false);
        Assert.Equal(new SettleAction(SettleKind.Fail, "InvalidOperationException: disk full"), action);
    }

    [Fact]
    public void A_handler_cancelled_by_a_graceful_shutdown_releases_the_job_uncounted() =>
        Assert.Equal(SettleKind.Release, JobOutcomes.AfterHandler(new OperationCanceledException(), null, false, false, shuttingDown: true).Kind);

    [Fact]
    public void A_handler_that_cancels_itself_outside_a_shutdown_fails_the_attempt() =>
        Assert.Equal(SettleKind.Fail, JobOutcomes.AfterHandler(new OperationCanceledException("gave up"), null, false, false, shuttingDown: false).Kind);

    [Theory]
    [InlineData(true)]  // the handler finished, but the lease was lost before the finish was recorded
    [InlineData(false)] // the handler was cancelled because the lease was lost
    public void A_job_whose_lease_was_lost_is_abandoned_whatever_the_handler_did(bool handlerReturned)
    {
        var action = JobOutcomes.AfterHandler(handlerReturned ? null : new OperationCanceledException(), "late result", false, leaseLost: true, shuttingDown: false);
        Assert.Equal(new SettleAction(SettleKind.Abandon, "its lease was lost"), action);
    }

    [Fact]
    public void Nothing_is_recorded_for_a_killed_silo() =>
        Assert.Equal(SettleKind.Abandon, JobOutcomes.AfterHandler(null, "done", siloGone: true, leaseLost: false, shuttingDown: true).Kind);

    [Theory]
    [InlineData(JobUpdateOutcome.Updated, "Recorded")]
    [InlineData(JobUpdateOutcome.LeaseLost, "LeaseLost")] // finish refused: someone else holds the job now
    [InlineData(JobUpdateOutcome.NotFound, "NotFound")]
    public void The_stores_answer_to_a_finish_is_the_verdict(JobUpdateOutcome outcome, string expected) =>
        Assert.Equal(expected, JobOutcomes.AfterSettle(outcome, null, attempt: 1, maxAttempts: 6).ToString());

    [Theory]
    [InlineData(FailOutcome.WillRetry, "Recorded")]
    [InlineData(FailOutcome.DeadLettered, "Recorded")]
    [InlineData(FailOutcome.LeaseLost, "LeaseLost")]
    [InlineData(FailOutcome.NotFound, "NotFound")]
    public void The_stores_answer_to_a_fail_is_the_verdict(FailOutcome outcome, string expected) =>
        Assert.Equal(expected, JobOutcomes.AfterSettle(new FailResult(outcome), null, attempt: 1, maxAttempts: 6).ToString());

    [Fact]
    public void An_unavailable_store_is_retried_until_the_last_try_then_given_up()
    {
        var down = new TimeoutException("store unreachable");
        Assert.Equal(SettleVerdict.Retry, JobOutcomes.AfterSettle(null, down, attempt: 1, maxAttempts: 3));
        Assert.Equal(SettleVerdict.Retry, JobOutcomes.AfterSettle(null, down, attempt: 2, maxAttempts: 3));
        Assert.Equal(SettleVerdict.GiveUp, JobOutcomes.AfterSettle(null, down, attempt: 3, maxAttempts: 3));
    }

    [Fact]
    public void A_result_that_breaks_a_rule_is_not_retried() =>
        Assert.Equal(SettleVerdict.GiveUp, JobOutcomes.AfterSettle(null, new ArgumentException("result too large"), attempt: 1, maxAttempts: 6));
}
