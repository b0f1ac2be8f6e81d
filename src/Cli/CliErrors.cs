namespace Orleans.Jobs.Cli;

/// <summary>Bad arguments: the command did nothing (exit code 2).</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>The operation failed, with a message that says why (exit code 1).</summary>
internal sealed class OperationFailedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The exit codes of every command.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadArguments = 2;
}
