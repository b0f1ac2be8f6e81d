using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Orleans.Jobs.Grains.Interfaces.Pipelines;

namespace Orleans.Jobs.Silo.Sample.Pipelines;

/// <summary>pypelinin's example worker: downloads the page at <c>url</c> into <c>content</c>.</summary>
public sealed class Downloader(HttpClient http) : IPipelineWorker
{
    /// <inheritdoc />
    public IReadOnlyList<string> Requires { get; } = ["url"];

    /// <inheritdoc />
    public async Task<JsonObject> ProcessAsync(JsonObject data, CancellationToken cancellationToken)
    {
        var url = data["url"]?.GetValue<string>() ?? throw new ArgumentException("Downloader needs a 'url' string.");
        using var response = await http.GetAsync(new Uri(url), cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
            throw new HttpRequestException($"GET {url} answered {(int)response.StatusCode} {response.ReasonPhrase}.");
        return new JsonObject { ["content"] = await response.Content.ReadAsStringAsync(cancellationToken) };
    }
}

/// <summary>pypelinin's example worker: the text of <c>content</c> without markup, and how many words it has.</summary>
public sealed partial class GetTextAndWords : IPipelineWorker
{
    /// <inheritdoc />
    public IReadOnlyList<string> Requires { get; } = ["content"];

    /// <inheritdoc />
    public Task<JsonObject> ProcessAsync(JsonObject data, CancellationToken cancellationToken)
    {
        var html = data["content"]?.GetValue<string>() ?? throw new ArgumentException("GetTextAndWords needs a 'content' string.");
        var withoutScripts = Scripts().Replace(html, " ");
        var text = WebUtility.HtmlDecode(Spaces().Replace(Tags().Replace(withoutScripts, " "), " ")).Trim();
        var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return Task.FromResult(new JsonObject { ["text"] = text, ["number_of_words"] = words.Length });
    }

    [GeneratedRegex("<(script|style)[^>]*>.*?</\\1>", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex Scripts();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex Tags();

    [GeneratedRegex("\\s+")]
    private static partial Regex Spaces();
}

/// <summary>pypelinin's example worker: the links (<c>href</c> of every anchor) in <c>content</c>.</summary>
public sealed partial class GetLinks : IPipelineWorker
{
    /// <inheritdoc />
    public IReadOnlyList<string> Requires { get; } = ["content"];

    /// <inheritdoc />
    public Task<JsonObject> ProcessAsync(JsonObject data, CancellationToken cancellationToken)
    {
        var html = data["content"]?.GetValue<string>() ?? throw new ArgumentException("GetLinks needs a 'content' string.");
        var links = new JsonArray();
        foreach (Match match in Anchors().Matches(html))
            links.Add(WebUtility.HtmlDecode(match.Groups["href"].Value));
        return Task.FromResult(new JsonObject { ["links"] = links });
    }

    [GeneratedRegex("<a\\s[^>]*href\\s*=\\s*[\"'](?<href>[^\"']*)[\"']", RegexOptions.IgnoreCase)]
    private static partial Regex Anchors();
}
