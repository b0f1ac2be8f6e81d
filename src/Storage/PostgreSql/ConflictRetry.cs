using Npgsql;

namespace Orleans.Jobs.Storage.PostgreSql;

/// <summary>
/// Runs a statement (or one transaction) again when PostgreSQL aborted it as a deadlock victim or for a serialization
/// conflict. The server rolled the attempt back, so a retry cannot apply it twice. Claims take rows with SKIP LOCKED
/// and completions delete them in batches; under a long burn-down the server now and then picks one of them as a
/// deadlock victim, which before this reached the worker as a failed call.
/// </summary>
internal static class ConflictRetry
{
    /// <summary>Attempts in all; a conflict that survives this many is reported.</summary>
    public const int MaxAttempts = 5;

    public static async Task<T> RunAsync<T>(Func<Task<T>> attempt, CancellationToken cancellationToken)
    {
        for (var tried = 1; ; tried++)
        {
            try
            {
                return await attempt();
            }
            catch (PostgresException e) when (IsConflict(e) && tried < MaxAttempts)
            {
                // Jittered and growing, so the two sides of a deadlock do not meet again at once.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20) * tried * tried), cancellationToken);
            }
        }
    }

    public static bool IsConflict(PostgresException e) =>
        e.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure;
}
