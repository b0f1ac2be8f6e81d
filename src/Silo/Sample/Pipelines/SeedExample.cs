using Orleans.Jobs.Client.Pipelines;
using Orleans.Jobs.Silo.Pipelines;

namespace Orleans.Jobs.Silo.Sample.Pipelines;

/// <summary>pypelinin's example, ported: Downloader, then GetTextAndWords and GetLinks on what it downloaded.</summary>
public static class SeedExample
{
    /// <summary>Registers the example's three workers on a silo (the Broker role).</summary>
    public static ISiloBuilder AddSeedExampleWorkers(this ISiloBuilder silo)
    {
        silo.Services.AddHttpClient();
        silo.AddPipelineWorker("Downloader", sp => new Downloader(sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(Downloader))));
        silo.AddPipelineWorker<GetTextAndWords>();
        silo.AddPipelineWorker<GetLinks>();
        return silo;
    }

    /// <summary>The example's pipeline for one page, as send_pipelines.py builds it.</summary>
    public static Pipeline PipelineFor(Uri url, string? id = null) => new(
        new PipelineGraph { { new Job("Downloader"), [new Job("GetTextAndWords"), new Job("GetLinks")] } },
        new Dictionary<string, object?> { ["url"] = url.ToString() },
        id);
}
