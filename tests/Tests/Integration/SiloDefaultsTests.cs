using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Jobs.Silo.Hosting;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>Orleans settings that <c>AddOrleansJobs</c> changes from Orleans' defaults, and that a host can still set.</summary>
public sealed class SiloDefaultsTests
{
    [Fact]
    public void The_grain_directory_cache_is_sized_for_a_jobs_silo_not_for_a_million_grains()
    {
        Assert.Equal(OrleansJobsSiloBuilderExtensions.DirectoryCacheSize, DirectoryCacheSize(silo => silo.AddOrleansJobs()));
        Assert.True(OrleansJobsSiloBuilderExtensions.DirectoryCacheSize < GrainDirectoryOptions.DEFAULT_CACHE_SIZE);
    }

    [Fact]
    public void A_directory_cache_size_the_host_sets_stays_whether_set_before_or_after()
    {
        Assert.Equal(5_000, DirectoryCacheSize(silo => silo.Configure<GrainDirectoryOptions>(o => o.CacheSize = 5_000).AddOrleansJobs()));
        Assert.Equal(7_000, DirectoryCacheSize(silo => silo.AddOrleansJobs().Configure<GrainDirectoryOptions>(o => o.CacheSize = 7_000)));
    }

    /// <summary>The cache size a silo configured by <paramref name="configure"/> would use (the host is built, not started).</summary>
    private static int DirectoryCacheSize(Action<ISiloBuilder> configure)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(configure);
        using var host = builder.Build();
        return host.Services.GetRequiredService<IOptions<GrainDirectoryOptions>>().Value.CacheSize;
    }
}
