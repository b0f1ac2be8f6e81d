using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Silo.Gateway;
using Orleans.Jobs.Silo.Hosting;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>The HTTP gateway, for clients in other languages: grains and methods by alias, every route but /healthz behind the key.</summary>
public sealed class GatewayTests : IAsyncLifetime
{
    private const int MaxRequestBytes = 64 * 1024;
    private WebApplication _silo = null!;
    private HttpClient _http = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _silo = await StockSilo.StartAsync(StockSilo.Arguments($"--Gateway:MaxRequestBytes={MaxRequestBytes}"));
        _http = new HttpClient { BaseAddress = _silo.GatewayUri() };
        _http.DefaultRequestHeaders.Add(GatewayProtocol.ClusterKeyHeader, StockSilo.ClusterKey);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _silo.DisposeAsync();
    }

    private IQueueGrain Queue(string name) => _silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IQueueGrain>(name);

    private async Task<(HttpStatusCode Status, T? Body)> CallAsync<T>(string body, HttpClient? http = null)
    {
        using var response = await (http ?? _http).PostAsync(GatewayProtocol.CallPath, new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        return (response.StatusCode, text.Length == 0 ? default : System.Text.Json.JsonSerializer.Deserialize<T>(text, GatewayProtocol.Json));
    }

    [Fact]
    public void The_wire_options_resolve_contracts_before_anything_was_serialized()
    {
        // A fresh silo's first call reads its arguments' contracts before any serialization has run; in this test
        // process other tests have serialized already, so check the option that made the difference.
        Assert.NotNull(GatewayProtocol.Json.TypeInfoResolver);
        Assert.Equal(typeof(string), GatewayProtocol.Json.GetTypeInfo(typeof(string)).Type);
    }

    [Fact]
    public async Task Grains_and_methods_are_called_by_alias_and_results_come_back_as_json()
    {
        var (status, sent) = await CallAsync<GatewayResult>("""{"interface":"jobs.queue","key":"http","method":"send","arguments":["from another language"]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var id = sent!.Result!.Value.GetInt64();
        var job = await Queue("http").GetJobAsync(id);
        Assert.Equal(("from another language", JobState.Available), (job!.Payload, job.State));

        var (_, claimed) = await CallAsync<GatewayResult>("""{"interface":"jobs.queue","key":"http","method":"claim","arguments":[{"maxJobs":5,"owner":"python-worker"}]}""");
        var claim = Assert.Single(claimed!.Result!.Value.EnumerateArray());
        Assert.Equal(id, claim.GetProperty("jobId").GetInt64());
        var token = claim.GetProperty("leaseToken").GetGuid();
        var (_, finished) = await CallAsync<GatewayResult>($$"""{"interface":"jobs.queue","key":"http","method":"finish","arguments":[{{id}},"{{token}}","done"]}""");
        Assert.Equal("Updated", finished!.Result!.Value.GetString());
        Assert.Equal(JobState.Completed, (await Queue("http").GetJobAsync(id))!.State);
    }

    [Fact]
    public async Task A_token_that_does_not_hold_the_job_gets_409_and_an_unknown_job_404_each_with_the_outcome_and_a_repeated_finish_stays_200()
    {
        var id = await Queue("http-settle").SendAsync("work");
        var first = Assert.Single(await Queue("http-settle").ClaimAsync(new ClaimOptions { Owner = "python-worker" }));
        Assert.Equal(JobUpdateOutcome.Updated, await Queue("http-settle").ReleaseAsync(id, first.LeaseToken));
        var second = Assert.Single(await Queue("http-settle").ClaimAsync(new ClaimOptions { Owner = "python-worker" }));

        var (stale, lost) = await CallAsync<GatewayError>($$"""{"interface":"jobs.queue","key":"http-settle","method":"finish","arguments":[{{id}},"{{first.LeaseToken}}","late"]}""");
        Assert.Equal(HttpStatusCode.Conflict, stale);
        Assert.Equal(("JobUpdateOutcome.LeaseLost", "leaseToken", "LeaseLost"), (lost!.Type, lost.ParamName, lost.Result!.Value.GetString()));
        Assert.StartsWith($"leaseToken does not hold job {id} of queue 'http-settle': finish needs the token of the job's current claim", lost.Message);
        var (_, failLost) = await CallAsync<GatewayError>($$"""{"interface":"jobs.queue","key":"http-settle","method":"fail","arguments":[{{id}},"{{first.LeaseToken}}","late"]}""");
        Assert.Equal(("FailOutcome.LeaseLost", "LeaseLost"), (failLost!.Type, failLost.Result!.Value.GetProperty("outcome").GetString()));
        Assert.Equal(JobState.Running, (await Queue("http-settle").GetJobAsync(id))!.State);

        var finish = $$"""{"interface":"jobs.queue","key":"http-settle","method":"finish","arguments":[{{id}},"{{second.LeaseToken}}","done"]}""";
        for (var attempt = 0; attempt < 2; attempt++) // the second is a retry whose first reply was lost: the same answer
        {
            var (status, finished) = await CallAsync<GatewayResult>(finish);
            Assert.Equal((HttpStatusCode.OK, "Updated"), (status, finished!.Result!.Value.GetString()));
        }

        var (missing, notFound) = await CallAsync<GatewayError>($$"""{"interface":"jobs.queue","key":"http-settle","method":"renew-lease","arguments":[{{id + 1000}},"{{second.LeaseToken}}"]}""");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal(("JobUpdateOutcome.NotFound", "jobId", "NotFound"), (notFound!.Type, notFound.ParamName, notFound.Result!.Value.GetString()));
        var (wrongState, notDead) = await CallAsync<GatewayError>($$"""{"interface":"jobs.queue","key":"http-settle","method":"requeue-dead-letter","arguments":[{{id}}]}""");
        Assert.Equal(HttpStatusCode.Conflict, wrongState);
        Assert.Equal(("jobId", "NotDeadLettered"), (notDead!.ParamName, notDead.Result!.Value.GetString()));
        var job = await Queue("http-settle").GetJobAsync(id);
        Assert.Equal(("done", JobState.Completed), (job!.Result, job.State));
    }

    [Fact]
    public async Task A_partial_settings_update_changes_only_the_settings_it_names()
    {
        var configured = new QueueSettings { MaxAttempts = 9, LeaseDuration = TimeSpan.FromMinutes(3), RetryPriorityDrop = 4 };
        await Queue("partial").ConfigureAsync(configured);

        var (status, updated) = await CallAsync<GatewayResult>("""{"interface":"jobs.queue","key":"partial","method":"update-settings","arguments":[{"maxAttempts":2}]}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, updated!.Result!.Value.GetProperty("maxAttempts").GetInt32());
        Assert.Equal(configured with { MaxAttempts = 2 }, await Queue("partial").GetSettingsAsync());
        Assert.Equal(configured with { MaxAttempts = 2, RetryPriorityDrop = 0 },
            await Queue("partial").UpdateSettingsAsync(new QueueSettingsChanges { RetryPriorityDrop = 0 }));

        // configure replaces every setting, so over JSON it needs them all rather than resetting the ones left out.
        var (refused, error) = await CallAsync<GatewayError>("""{"interface":"jobs.queue","key":"partial","method":"configure","arguments":[{"maxAttempts":3}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, refused);
        Assert.Contains("settings.leaseDuration is missing", error!.Message);
        Assert.Equal(2, (await Queue("partial").GetSettingsAsync()).MaxAttempts);
    }

    [Fact]
    public async Task A_call_without_a_json_content_type_gets_415_and_a_huge_name_comes_back_cut()
    {
        using var plain = await _http.PostAsync(GatewayProtocol.CallPath, new StringContent("""{"interface":"jobs.queue","key":"ct","method":"send","arguments":["x"]}""", Encoding.UTF8, "text/plain"), Ct);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, plain.StatusCode);
        var refusal = await plain.Content.ReadFromJsonAsync<GatewayError>(GatewayProtocol.Json, Ct);
        Assert.Equal("Content-Type", refusal!.ParamName);
        Assert.Contains("Content-Type is 'text/plain; charset=utf-8': a grain call's Content-Type must be application/json", refusal.Message);
        Assert.Equal(0, (await Queue("ct").GetCountsAsync()).Available);

        var (status, error) = await CallAsync<GatewayError>($$"""{"interface":"jobs.queue","key":"{{new string('k', 40_000)}}","method":"send","arguments":["x"]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("key", error!.ParamName);
        Assert.Contains("… (40000 characters)", error.Message);
        Assert.True(error.Message.Length < 400, error.Message);
    }

    [Fact]
    public async Task The_cluster_status_lists_the_silos_and_the_store()
    {
        var status = await _http.GetFromJsonAsync<ClusterStatus>(GatewayProtocol.ClusterPath, GatewayProtocol.Json, Ct);
        Assert.Equal("in-memory", status!.Store);
        Assert.Contains(status.Silos, s => s.Status == "Active" && s.Address == status.ServedBy);
    }

    [Fact]
    public async Task Argument_errors_name_the_field_and_the_rule()
    {
        var (status, error) = await CallAsync<GatewayError>("""{"interface":"jobs.queue","key":"remote","method":"finish","arguments":[-5,"00000000-0000-0000-0000-000000000001"]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("jobId", error!.ParamName);
        Assert.Contains("Job ids are positive numbers.", error.Message);
        var (_, name) = await CallAsync<GatewayError>("""{"interface":"jobs.queue","key":"bad/name","method":"send","arguments":["x"]}""");
        Assert.Contains("Queue name 'bad/name' is invalid", name!.Message);
    }

    [Fact]
    public async Task Dead_letters_are_purged_only_when_the_call_names_them()
    {
        var queue = Queue("http-dead");
        var dead = await queue.SendAsync("doomed", new SendOptions { MaxAttempts = 1 });
        var claimed = Assert.Single(await queue.ClaimAsync(new ClaimOptions { Owner = "test" }));
        Assert.Equal(FailOutcome.DeadLettered, (await queue.FailAsync(dead, claimed.LeaseToken, "boom")).Outcome);
        var waiting = await queue.SendAsync("waiting");

        // No argument is not "all": the call must say null (all) or list ids.
        var (status, missing) = await CallAsync<GatewayError>("""{"interface":"jobs.queue","key":"http-dead","method":"purge-dead-letters","arguments":[]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("takes 1 arguments; the call sent 0", missing!.Message);
        var (_, empty) = await CallAsync<GatewayError>("""{"interface":"jobs.queue","key":"http-dead","method":"purge-dead-letters","arguments":[[]]}""");
        Assert.Equal("jobIds", empty!.ParamName);
        Assert.Equal(JobState.DeadLettered, (await queue.GetJobAsync(dead))!.State);

        var (_, purged) = await CallAsync<GatewayResult>($$"""{"interface":"jobs.queue","key":"http-dead","method":"purge-dead-letters","arguments":[[{{dead}},{{waiting}}]]}""");
        Assert.Equal(1, purged!.Result!.Value.GetInt32());
        Assert.Null(await queue.GetJobAsync(dead));
        Assert.Equal(JobState.Available, (await queue.GetJobAsync(waiting))!.State);
    }

    [Fact]
    public async Task A_claim_is_resumed_by_its_claim_id_and_jobs_are_listed_by_state_in_pages()
    {
        var ids = await Queue("http-list").SendBatchAsync([new JobMessage("a"), new JobMessage("b")]);
        const string Claim = """{"maxJobs":2,"owner":"python-worker","claimId":"5f0c7e2a-0000-4000-8000-000000000001"}""";
        var (_, lost) = await CallAsync<GatewayResult>($$"""{"interface":"jobs.queue","key":"http-list","method":"claim","arguments":[{{Claim}}]}""");
        Assert.Equal(2, lost!.Result!.Value.GetArrayLength()); // as if this answer never arrived
        var (_, resumed) = await CallAsync<GatewayResult>($$"""{"interface":"jobs.queue","key":"http-list","method":"claim","arguments":[{{Claim[..^1]}},"resume":true}]}""");
        Assert.Equal(ids, resumed!.Result!.Value.EnumerateArray().Select(j => j.GetProperty("jobId").GetInt64()));

        var (status, page) = await CallAsync<GatewayResult>($$"""{"interface":"jobs.queue","key":"http-list","method":"list-jobs","arguments":["Running",{{ids[0]}},10]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var job = Assert.Single(page!.Result!.Value.EnumerateArray());
        Assert.Equal((ids[1], "python-worker"), (job.GetProperty("jobId").GetInt64(), job.GetProperty("owner").GetString()));
    }

    [Fact]
    public async Task An_oversized_request_is_refused_and_stores_nothing()
    {
        await Queue("big").SendAsync("small");
        var body = $$"""{"interface":"jobs.queue","key":"big","method":"send","arguments":["{{new string('x', MaxRequestBytes * 2)}}"]}""";
        var (status, error) = await CallAsync<GatewayError>(body);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("too large", error!.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, (await Queue("big").GetCountsAsync()).Available);
    }

    public static TheoryData<string, string> MalformedCalls() => new()
    {
        { "{not json", "The request body is not valid JSON" },
        { """{"interface":"jobs.queue","key":"q"}""", "needs 'interface'" },
        { """{"interface":"Orleans.Jobs.Grains.Interfaces.IQueueGrain","key":"q","method":"send","arguments":["x"]}""", "There is no grain interface 'Orleans.Jobs.Grains.Interfaces.IQueueGrain'; the gateway serves jobs.queue, jobs.routing" },
        { """{"interface":"jobs.queue","key":"q","method":"SendAsync","arguments":["x"]}""", "has no method 'SendAsync'" },
        { """{"interface":"jobs.queue","key":"q","method":"send","arguments":[]}""", "takes 1 to 2 arguments; the call sent 0" },
        { """{"interface":"jobs.queue","key":"q","method":"finish","arguments":[1,"not-a-guid",null]}""", "leaseToken must be a GUID string" },
        { """{"interface":"jobs.queue","key":"q","method":"finish","arguments":[null,"00000000-0000-0000-0000-000000000001",null]}""", "jobId must not be null: it is a whole number" },
    };

    [Theory]
    [MemberData(nameof(MalformedCalls))]
    public async Task Malformed_calls_get_400_with_a_message_naming_the_problem(string body, string expected)
    {
        await Queue("q").SendAsync("existing");
        var (status, error) = await CallAsync<GatewayError>(body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(expected, error!.Message);
        Assert.Equal(new QueueCounts(1, 0, 0, 0, 0), await Queue("q").GetCountsAsync());
    }

    [Fact]
    public async Task Requests_without_the_key_get_401_but_the_health_probe_needs_none()
    {
        using var http = new HttpClient { BaseAddress = _silo.GatewayUri() };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(GatewayProtocol.ClusterPath, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(GatewayProtocol.HealthPath, Ct)).StatusCode);

        // A grain call with a key of the right length but the wrong content changes nothing.
        http.DefaultRequestHeaders.Add(GatewayProtocol.ClusterKeyHeader, "test-cluster-kez");
        var (status, _) = await CallAsync<GatewayError>("""{"interface":"jobs.queue","key":"guarded","method":"send","arguments":["x"]}""", http);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal(0, (await Queue("guarded").GetCountsAsync()).Available);
    }
}
