namespace Orleans.Jobs.Tests.Support;

/// <summary>The Redis server of the test run (scripts/redis).</summary>
public static class TestRedis
{
    public static string Connection => TestServers.Required("OJ_REDIS_CONNECTION", "OJ_REQUIRE_REDIS", "scripts/redis");
}
