using System.Reflection;
using System.Text.Json;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Silo.Gateway;

/// <summary>
/// Outcomes that mean a call changed nothing because the job was not the caller's to change: no such job in the queue
/// (404), a lease token that does not hold it, or a requeue of a job that is not dead-lettered (409). Over HTTP these
/// are refusals naming the field and the rule, with the outcome still in <see cref="GatewayError.Result"/>, where a 200
/// would have it; .NET callers get the same outcomes as results. A settle repeated with the token that made it
/// (finish answers <see cref="JobUpdateOutcome.Updated"/>, fail its first outcome) is a success like the first.
/// </summary>
public static class GatewayOutcomes
{
    /// <summary>The status and error for <paramref name="outcome"/> of a call, or null when it is a success.</summary>
    /// <param name="call">The call: its method alias and queue (the grain key) go into the message.</param>
    /// <param name="method">The method called, for its <c>jobId</c> argument.</param>
    /// <param name="arguments">The call's arguments, in parameter order.</param>
    /// <param name="outcome">What the grain returned.</param>
    /// <param name="result">The same, as JSON, carried in the error's result.</param>
    public static (int Status, GatewayError Error)? Refusal(GatewayRequest call, MethodInfo method, object?[] arguments, object? outcome, JsonElement? result)
    {
        if (outcome is not (JobUpdateOutcome or FailResult)) return null;
        var job = JobIdOf(method, arguments);
        (int Status, string Field, string Rule)? refusal = outcome switch
        {
            JobUpdateOutcome.NotFound or FailResult { Outcome: FailOutcome.NotFound } => (StatusCodes.Status404NotFound, "jobId",
                $"jobId {job}: queue '{call.Key}' has no such job, and {call.Method} needs a job of the queue the key names (it may be in another queue, never have existed, or have been pruned after its retention)."),
            JobUpdateOutcome.LeaseLost or FailResult { Outcome: FailOutcome.LeaseLost } => (StatusCodes.Status409Conflict, "leaseToken",
                $"leaseToken does not hold job {job} of queue '{call.Key}': {call.Method} needs the token of the job's current claim, and this job was claimed again, settled with another token, is not running, or was claimed unmonitored (no lease to renew or give back)."),
            JobUpdateOutcome.NotDeadLettered => (StatusCodes.Status409Conflict, "jobId",
                $"jobId {job}: job {job} of queue '{call.Key}' is not dead-lettered, and {call.Method} makes only a dead-lettered job available again."),
            _ => null,
        };
        if (refusal is not { } refused) return null;
        var type = outcome is FailResult fail ? $"{nameof(FailOutcome)}.{fail.Outcome}" : $"{nameof(JobUpdateOutcome)}.{outcome}";
        return (refused.Status, new GatewayError(type, $"{refused.Rule} Nothing changed.", refused.Field, result));
    }

    private static object? JobIdOf(MethodInfo method, object?[] arguments)
    {
        var parameters = method.GetParameters();
        for (var i = 0; i < parameters.Length; i++)
            if (parameters[i].Name == "jobId") return arguments[i];
        return "?";
    }
}
