using System.Text.Json.Nodes;
using Orleans.Jobs.Silo.Sample.Pipelines;

namespace Orleans.Jobs.Tests.Pipelines;

/// <summary>The seed's test_workers.py: each worker of the ported example, alone, without a cluster.</summary>
public sealed class SeedWorkerTests
{
    [Fact]
    public async Task Downloader_fetches_the_page_at_url()
    {
        await using var pages = await SamplePageServer.StartAsync(TestContext.Current.CancellationToken);
        using var http = new HttpClient();
        var worker = new Downloader(http);

        var result = await worker.ProcessAsync(new JsonObject { ["url"] = pages.PageUrl(2).ToString() }, TestContext.Current.CancellationToken);

        Assert.Equal(["url"], worker.Requires);
        Assert.Contains("<p>Page 2</p>", result["content"]!.GetValue<string>());
        var missing = await Assert.ThrowsAsync<HttpRequestException>(() => worker.ProcessAsync(new JsonObject { ["url"] = new Uri(pages.BaseAddress, "/nope").ToString() }, TestContext.Current.CancellationToken));
        Assert.Contains("404", missing.Message);
    }

    [Fact]
    public async Task GetTextAndWords_strips_markup_and_counts_words()
    {
        var worker = new GetTextAndWords();
        var result = await worker.ProcessAsync(new JsonObject { ["content"] = "<html><style>p { x }</style><p>Hello <b>big</b> world &amp; more</p></html>" }, TestContext.Current.CancellationToken);

        Assert.Equal(["content"], worker.Requires);
        Assert.Equal("Hello big world & more", result["text"]!.GetValue<string>());
        Assert.Equal(5, result["number_of_words"]!.GetValue<int>());
    }

    [Fact]
    public async Task GetLinks_lists_every_anchor_href()
    {
        var worker = new GetLinks();
        var result = await worker.ProcessAsync(new JsonObject { ["content"] = "<a href=\"/a\">a</a> <A class='x' HREF='http://b/?q=1&amp;r=2'>b</A> <a name=\"no-href\">c</a>" }, TestContext.Current.CancellationToken);

        Assert.Equal(["/a", "http://b/?q=1&r=2"], result["links"]!.AsArray().Select(l => l!.GetValue<string>()));
    }

    [Fact]
    public async Task The_sample_pages_hold_what_the_workers_are_expected_to_find()
    {
        await using var pages = await SamplePageServer.StartAsync(TestContext.Current.CancellationToken);
        using var http = new HttpClient();
        var content = (await new Downloader(http).ProcessAsync(new JsonObject { ["url"] = pages.PageUrl(4).ToString() }, TestContext.Current.CancellationToken))["content"]!.GetValue<string>();

        var words = await new GetTextAndWords().ProcessAsync(new JsonObject { ["content"] = content }, TestContext.Current.CancellationToken);
        var links = await new GetLinks().ProcessAsync(new JsonObject { ["content"] = content }, TestContext.Current.CancellationToken);

        Assert.Equal(SamplePageServer.ExpectedWords(4), words["number_of_words"]!.GetValue<int>());
        Assert.Equal(SamplePageServer.ExpectedLinks(4), links["links"]!.AsArray().Select(l => l!.GetValue<string>()));
    }
}
