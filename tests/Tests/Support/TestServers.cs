namespace Orleans.Jobs.Tests.Support;

/// <summary>
/// The servers of a test run, found through the environment: scripts/test starts private ones and exports their
/// connections. With the matching OJ_REQUIRE_* variable set to 1 (scripts/test sets them) a missing server fails the
/// tests instead of skipping them.
/// </summary>
public static class TestServers
{
    /// <summary>The connection in <paramref name="variable"/>; skips or fails the test when it is not set.</summary>
    public static string Required(string variable, string requireVariable, string script)
    {
        var connection = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrEmpty(connection)) return connection;
        var why = $"{variable} is not set: run `{script} start` and export the connection it prints (scripts/test does both).";
        if (Environment.GetEnvironmentVariable(requireVariable) == "1") Assert.Fail(why);
        Assert.Skip(why);
        return "";
    }
}
