using System.Net;
using System.Text;

namespace Orleans.Jobs.Tests.Gateway;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GatewayMemoryCollection : ICollectionFixture<InMemoryCorpusSilo>
{
    // Alone, so what the process allocates while a request is served is that request's cost.
    public const string Name = "gateway memory per request (not parallel)";
}

/// <summary>
/// What one request costs the process in allocated bytes (<see cref="GC.GetTotalAllocatedBytes"/>, the least of a few
/// tries, so stray background work does not count), served in-process by a stock silo whose
/// <c>Gateway:MaxRequestBytes</c> is <see cref="CorpusSilo.MaxRequestBytes"/> (24 MiB), with and without a
/// Content-Length. Up to the limit a request costs at most <see cref="Factor"/> times its body (one more without a
/// length: the body is counted in blocks, then copied once), plus <see cref="Overhead"/>, plus <see cref="PerElement"/>
/// for each element it has built (a batch's jobs: at most 10,000) — and its cost grows with its size by at most that
/// factor, byte for byte. A body built in full costs itself once, its strings twice (UTF-16), and little more. Past the
/// limit a body costs a small fraction of its size.
/// </summary>
[Collection(GatewayMemoryCollection.Name)]
public sealed class GatewayMemoryTests(InMemoryCorpusSilo silo)
{
    private const int Factor = 4;
    private const long Overhead = 2 * 1024 * 1024;
    private const long PerElement = 512;
    private const int Tries = 3;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(120);

    [Fact]
    public Task Zero_arguments_up_to_ten_million_in_20_MB_are_refused_at_the_17th_for_about_their_size() =>
        GrowsLinearlyAsync([1_000_000, 4_000_000, 10_000_000],
            count => Call("send", [.. Enumerable.Repeat("0", count)]), "more than 16", elements: 0);

    [Fact]
    public Task Arrays_nested_ten_million_deep_are_refused_at_the_17th_level_for_about_their_size() =>
        GrowsLinearlyAsync([100_000, 1_000_000, 10_000_000],
            depth => Call("send", new string('[', depth) + new string(']', depth)), "not valid JSON", elements: 0);

    [Fact]
    public Task A_batch_of_10000_jobs_built_in_full_then_refused_by_the_grain_costs_its_jobs_once() =>
        GrowsLinearlyAsync([80, 800, 2_300], // payload bytes of each job: bodies of 1, 8 and 23 MB
            size => Call("send-batch", $"[{string.Join(",", Enumerable.Range(0, 10_000).Select(i => $$"""{"payload":"{{(i == 9_999 ? "\\u0000" : "").PadRight(size, 'p')}}"}"""))}]"),
            "NUL", elements: 10_000);

    [Theory]
    [InlineData(CorpusSilo.MaxRequestBytes)]
    [InlineData(4 * CorpusSilo.MaxRequestBytes)]
    public async Task A_body_past_the_limit_with_its_length_is_refused_for_a_small_fraction_of_its_size(int payload)
    {
        var body = Call("send", HttpCorpus.J(new string('x', payload)));
        Assert.True(body.Length > CorpusSilo.MaxRequestBytes);

        var cost = await CostAsync(body, chunked: false, HttpStatusCode.RequestEntityTooLarge, "too large");

        Assert.True(cost <= Overhead, $"a refused body of {body.Length:N0} bytes allocated {cost:N0} bytes");
    }

    [Fact]
    public async Task A_chunked_body_past_the_limit_costs_what_the_limit_allows_not_its_size()
    {
        var body = Call("send", HttpCorpus.J(new string('x', 4 * CorpusSilo.MaxRequestBytes)));

        var cost = await CostAsync(body, chunked: true, HttpStatusCode.RequestEntityTooLarge, "too large");

        // Without a length the gateway reads up to the limit, in blocks of at most 1 MiB, before it knows.
        var bound = CorpusSilo.MaxRequestBytes + 1024 * 1024 + Overhead;
        Assert.True(cost <= bound, $"a chunked body of {body.Length:N0} bytes allocated {cost:N0} bytes; the bound is {bound:N0}");
        Assert.True(cost < body.Length / 3, $"a chunked body of {body.Length:N0} bytes allocated {cost:N0} bytes");
    }

    /// <summary>
    /// Sends the body <paramref name="make"/> makes for each size, with and without a length, refused with 400 and
    /// <paramref name="rule"/>: each costs at most the bound, and from one size to the next the cost grows by at most the
    /// factor times the body's growth.
    /// </summary>
    private async Task GrowsLinearlyAsync(int[] sizes, Func<int, byte[]> make, string rule, int elements)
    {
        foreach (var chunked in new[] { false, true })
        {
            var factor = chunked ? Factor + 1 : Factor;
            (long Bytes, long Cost)? previous = null;
            foreach (var size in sizes)
            {
                var body = make(size);
                Assert.True(body.Length <= CorpusSilo.MaxRequestBytes, $"{body.Length} bytes");
                var cost = await CostAsync(body, chunked, HttpStatusCode.BadRequest, rule);
                var what = $"a body of {body.Length:N0} bytes{(chunked ? ", chunked," : "")}";

                var bound = factor * (long)body.Length + Overhead + PerElement * elements;
                Assert.True(cost <= bound, $"{what} allocated {cost:N0} bytes; the bound is {bound:N0}");
                if (previous is { } before)
                    Assert.True(cost - before.Cost <= factor * (body.Length - before.Bytes),
                        $"{what} allocated {cost:N0} bytes, {cost - before.Cost:N0} more than one of {before.Bytes:N0} bytes: more than {factor} bytes a byte");
                previous = (body.Length, cost);
            }
        }
    }

    /// <summary>
    /// The least a request allocated over <see cref="Tries"/> tries. Each is answered with <paramref name="status"/> and
    /// <paramref name="rule"/> — except a chunked body past the limit, whose upload the server may cut off once it has
    /// refused it (the client then sees a broken pipe instead of the answer).
    /// </summary>
    private async Task<long> CostAsync(byte[] body, bool chunked, HttpStatusCode status, string rule)
    {
        var least = long.MaxValue;
        for (var i = 0; i < Tries; i++)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            try
            {
                var (answered, text) = await silo.PostAsync(body, "application/json", null, RequestTimeout, chunked);
                least = Math.Min(least, GC.GetTotalAllocatedBytes(precise: true) - before);
                Assert.True(answered == status, $"expected {(int)status}, got {(int)answered}: {Refusals.Cut(text)}");
                Assert.Matches(rule, text);
            }
            catch (HttpRequestException e) when (chunked && body.Length > CorpusSilo.MaxRequestBytes && e.InnerException is IOException)
            {
                least = Math.Min(least, GC.GetTotalAllocatedBytes(precise: true) - before);
            }
        }

        TestContext.Current.SendDiagnosticMessage($"{body.Length:N0} bytes{(chunked ? " chunked" : "")}: {least:N0} bytes allocated ({(double)least / body.Length:F2}x)");
        await silo.AssertHealthyAsync();
        return least;
    }

    private static byte[] Call(string method, params string[] arguments) => Encoding.UTF8.GetBytes(HttpCorpus.Call("jobs.queue", CorpusSilo.Queue, method, arguments));
}
