using System.Data.Common;
using Microsoft.Extensions.Logging;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Grains;

/// <summary>
/// Turns a database driver's exception leaving one of our grains into a <see cref="JobStoreException"/>. Orleans
/// cannot serialize the driver's exceptions: without this a caller got a <c>CodecNotFoundException</c> in place of
/// the error, and the driver's text (server names, SQL) would reach callers. The original is logged here.
/// </summary>
internal sealed partial class JobStoreErrorFilter(ILogger<JobStoreErrorFilter> logger) : IIncomingGrainCallFilter
{
    private const string OurNamespace = "Orleans.Jobs.";

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (DbException e) when (IsOurs(context))
        {
            LogStoreFailed(logger, e, context.InterfaceName, context.MethodName);
            throw Describe(e);
        }
    }

    /// <summary>What a caller is told: the kind of failure, its SQLSTATE when the server sent one, whether to retry.</summary>
    internal static JobStoreException Describe(DbException e)
    {
        var kind = e.SqlState switch
        {
            "40P01" => "a deadlock between concurrent statements outlasted the store's retries",
            "40001" => "a serialization conflict outlasted the store's retries",
            "53300" => "the server has no connection slots left",
            ['5', '3', ..] => "the server ran out of a resource",
            ['5', '7', 'P', ..] => "the server is shutting down or restarting",
            ['0', '8', ..] => "the connection to the server failed",
            ['2', '2', ..] or ['2', '3', ..] => "the server refused the data",
            null => "the server could not be reached or the connection failed",
            _ => "the server reported an error",
        };
        var state = e.SqlState is { } s ? $" (SQLSTATE {s})" : "";
        var retry = e.IsTransient ? "The call can be tried again." : "See the silo's log for details.";
        return new JobStoreException($"The job store failed: {kind}{state}. {retry}", e.IsTransient);
    }

    private static bool IsOurs(IIncomingGrainCallContext context) =>
        context.InterfaceMethod?.DeclaringType?.Namespace?.StartsWith(OurNamespace, StringComparison.Ordinal) == true;

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Interface}.{Method} failed in the job store")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, string @interface, string method);
}
