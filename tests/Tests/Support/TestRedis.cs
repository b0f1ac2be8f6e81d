namespace Orleans.Jobs.Tests.Support;

/// <summary>
/// The Redis server of the test run: scripts/test starts a private one (scripts/redis) and exports
/// OJ_REDIS_CONNECTION. With OJ_REQUIRE_REDIS=1 (scripts/test sets it) a missing server fails the tests instead of
/// skipping them.
/// </summary>
public static class TestRedis
{
    public static string Connection
    {
        get
        {
            var connection = Environment.GetEnvironmentVariable("OJ_REDIS_CONNECTION");
            if (!string.IsNullOrEmpty(connection)) return connection;
            const string why = "OJ_REDIS_CONNECTION is not set: run `scripts/redis start` and export the connection it prints (scripts/test does both).";
            if (Environment.GetEnvironmentVariable("OJ_REQUIRE_REDIS") == "1") Assert.Fail(why);
            Assert.Skip(why);
            return "";
        }
    }
}
