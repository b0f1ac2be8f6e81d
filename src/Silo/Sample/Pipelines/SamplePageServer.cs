using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Orleans.Jobs.Silo.Sample.Pipelines;

/// <summary>
/// A small HTTP server on 127.0.0.1 (a free port) serving numbered pages with words and links, for pypelinin's
/// example pipeline to download without leaving the machine. Page <c>n</c> has <c>n + 3</c> words of text and
/// <c>n + 1</c> links; <see cref="ExpectedWords"/> and <see cref="ExpectedLinks"/> say what a worker should find.
/// </summary>
public sealed class SamplePageServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SamplePageServer(WebApplication app) => _app = app;

    /// <summary>The server's base address.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Starts the server.</summary>
    public static async Task<SamplePageServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.MapGet("/pages/{n:int}", (int n) => n is < 0 or > 10_000 ? Results.NotFound() : Results.Content(Page(n), "text/html"));
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new SamplePageServer(app) { BaseAddress = new Uri(address) };
    }

    /// <summary>The address of page <paramref name="n"/>.</summary>
    public Uri PageUrl(int n) => new(BaseAddress, $"/pages/{n}");

    /// <summary>How many words the text of page <paramref name="n"/> has.</summary>
    public static int ExpectedWords(int n) => n + 3;

    /// <summary>The links on page <paramref name="n"/>.</summary>
    public static IReadOnlyList<string> ExpectedLinks(int n) => [.. Enumerable.Range(0, n + 1).Select(i => $"/pages/{n + i + 1}")];

    private static string Page(int n)
    {
        // "Page n" plus n + 1 words from the links' text: n + 3 words in all.
        var anchors = string.Join(" ", ExpectedLinks(n).Select((href, i) => $"<a href=\"{href}\">link{i}</a>"));
        return $"<html><head><style>p {{ color: black; }}</style></head><body><p>Page {n}</p><p>{anchors}</p></body></html>";
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
        }

        await _app.DisposeAsync();
    }
}
