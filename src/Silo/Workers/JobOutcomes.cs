using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Silo.Workers;

/// <summary>What a worker does with a job after its handler returned or threw.</summary>
internal enum SettleKind
{
    /// <summary>Record success with the handler's result.</summary>
    Finish,

    /// <summary>Record a failed attempt: it retries, or is dead-lettered after its last.</summary>
    Fail,

    /// <summary>Give the job back without counting the attempt (the silo is shutting down).</summary>
    Release,

    /// <summary>Record nothing: the job is no longer this worker's (its lease was lost, or its silo is gone).</summary>
    Abandon,
}

/// <summary>A settle decision and the text it carries (the result, the error, or why the job is abandoned).</summary>
internal sealed record SettleAction(SettleKind Kind, string? Text = null);

/// <summary>How one attempt at recording an outcome went.</summary>
internal enum SettleVerdict
{
    /// <summary>Recorded.</summary>
    Recorded,

    /// <summary>The store refused: the worker no longer holds the job (it was recovered and may run elsewhere).</summary>
    LeaseLost,

    /// <summary>The job is gone (pruned or never existed).</summary>
    NotFound,

    /// <summary>No verdict (the store was unreachable): try again.</summary>
    Retry,

    /// <summary>No verdict after the last try: give up; a monitored job comes back when its lease runs out.</summary>
    GiveUp,
}

/// <summary>
/// The pure decisions of a worker, kept apart from the loops that act on them so each case can be tested alone:
/// what to record after a handler ran, and what a recording attempt's outcome means.
/// </summary>
internal static class JobOutcomes
{
    private static readonly SettleAction FinishedWithoutResult = new(SettleKind.Finish); // the common outcome, one instance for all
    /// <summary>Decides what to record after a handler ran.</summary>
    /// <param name="handlerError">What the handler threw; null when it returned.</param>
    /// <param name="result">What it returned.</param>
    /// <param name="siloGone">The silo was killed: nothing may be recorded.</param>
    /// <param name="leaseLost">The job's lease was lost (a renewal was refused or ran out) before it was recorded.</param>
    /// <param name="shuttingDown">The silo's graceful stop cancelled the handler.</param>
    public static SettleAction AfterHandler(Exception? handlerError, string? result, bool siloGone, bool leaseLost, bool shuttingDown)
    {
        if (siloGone) return new SettleAction(SettleKind.Abandon, "its silo is gone");
        if (leaseLost) return new SettleAction(SettleKind.Abandon, "its lease was lost");
        return handlerError switch
        {
            null => result is null ? FinishedWithoutResult : new SettleAction(SettleKind.Finish, result),
            OperationCanceledException when shuttingDown => new SettleAction(SettleKind.Release),
            _ => new SettleAction(SettleKind.Fail, $"{handlerError.GetType().Name}: {handlerError.Message}"),
        };
    }

    /// <summary>Interprets one recording attempt: the store's answer, or what it threw.</summary>
    /// <param name="outcome">The store's answer (<see cref="JobUpdateOutcome"/> or <see cref="FailResult"/>); null when it threw.</param>
    /// <param name="error">What the attempt threw; null when it answered.</param>
    /// <param name="attempt">Which try this was, from 1.</param>
    /// <param name="maxAttempts">How many tries are allowed.</param>
    public static SettleVerdict AfterSettle(object? outcome, Exception? error, int attempt, int maxAttempts) => (outcome, error) switch
    {
        (_, ArgumentException) => SettleVerdict.GiveUp, // a rule was broken: trying again cannot help
        (_, not null) => attempt < maxAttempts ? SettleVerdict.Retry : SettleVerdict.GiveUp,
        (JobUpdateOutcome.LeaseLost or FailResult { Outcome: FailOutcome.LeaseLost }, _) => SettleVerdict.LeaseLost,
        (JobUpdateOutcome.NotFound or FailResult { Outcome: FailOutcome.NotFound }, _) => SettleVerdict.NotFound,
        _ => SettleVerdict.Recorded,
    };
}
