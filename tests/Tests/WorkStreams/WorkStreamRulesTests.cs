using System.Globalization;
using Orleans.Jobs.Client.WorkStreams;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;

namespace Orleans.Jobs.Tests.WorkStreams;

/// <summary>What a work stream accepts: every property at and past its range, stage names, stream ids, partial changes, client options.</summary>
public sealed class WorkStreamRulesTests
{
    /// <summary>A change of one property, from its name and its value as text (invariant culture; NaN and ±Infinity for doubles).</summary>
    private static WorkStreamPropertyChanges Change(string property, string value) => property switch
    {
        nameof(WorkStreamProperties.SpawnFrequency) => new() { SpawnFrequency = double.Parse(value, CultureInfo.InvariantCulture) },
        nameof(WorkStreamProperties.MaxWorkersPerNode) => new() { MaxWorkersPerNode = int.Parse(value, CultureInfo.InvariantCulture) },
        nameof(WorkStreamProperties.JobDelay) => new() { JobDelay = TimeSpan.Parse(value, CultureInfo.InvariantCulture) },
        nameof(WorkStreamProperties.JobPriority) => new() { JobPriority = int.Parse(value, CultureInfo.InvariantCulture) },
        nameof(WorkStreamProperties.IdleTimeout) => new() { IdleTimeout = TimeSpan.Parse(value, CultureInfo.InvariantCulture) },
        nameof(WorkStreamProperties.MaxAttempts) => new() { MaxAttempts = int.Parse(value, CultureInfo.InvariantCulture) },
        nameof(WorkStreamProperties.Isolation) => new() { Isolation = (WorkerIsolation)int.Parse(value, CultureInfo.InvariantCulture) },
        _ => throw new ArgumentOutOfRangeException(nameof(property), property, "not a work-stream property"),
    };

    [Theory]
    [InlineData("SpawnFrequency", "0.01")]
    [InlineData("SpawnFrequency", "1000")]
    [InlineData("MaxWorkersPerNode", "1")]
    [InlineData("MaxWorkersPerNode", "256")]
    [InlineData("JobDelay", "00:00:00")]
    [InlineData("JobDelay", "1.00:00:00")]
    [InlineData("JobPriority", "-1000000")]
    [InlineData("JobPriority", "1000000")]
    [InlineData("IdleTimeout", "00:00:01")]
    [InlineData("IdleTimeout", "7.00:00:00")]
    [InlineData("MaxAttempts", "1")]
    [InlineData("MaxAttempts", "100")]
    [InlineData("Isolation", "0")]
    [InlineData("Isolation", "1")]
    public void A_property_at_either_end_of_its_range_is_accepted(string property, string value)
    {
        var properties = new WorkStreamProperties().With(Change(property, value));
        WorkStreamRules.Validate(properties);
        Assert.Equal(value, Value(properties, property));
    }

    [Theory]
    [InlineData("SpawnFrequency", "0", "between 0.01 and 1000 workers per second")]
    [InlineData("SpawnFrequency", "0.0099", "between 0.01 and 1000 workers per second")]
    [InlineData("SpawnFrequency", "1000.001", "between 0.01 and 1000 workers per second")]
    [InlineData("SpawnFrequency", "-1", "between 0.01 and 1000 workers per second")]
    [InlineData("SpawnFrequency", "NaN", "between 0.01 and 1000 workers per second")]
    [InlineData("SpawnFrequency", "Infinity", "between 0.01 and 1000 workers per second")]
    [InlineData("SpawnFrequency", "-Infinity", "between 0.01 and 1000 workers per second")]
    [InlineData("SpawnFrequency", "1E+308", "between 0.01 and 1000 workers per second")]
    [InlineData("MaxWorkersPerNode", "0", "between 1 and 256 workers")]
    [InlineData("MaxWorkersPerNode", "-1", "between 1 and 256 workers")]
    [InlineData("MaxWorkersPerNode", "257", "between 1 and 256 workers")]
    [InlineData("MaxWorkersPerNode", "2147483647", "between 1 and 256 workers")]
    [InlineData("JobDelay", "-00:00:00.001", "between 00:00:00 and 1.00:00:00")]
    [InlineData("JobDelay", "1.00:00:00.001", "between 00:00:00 and 1.00:00:00")]
    [InlineData("JobDelay", "10675199.02:48:05.4775807", "between 00:00:00 and 1.00:00:00")]
    [InlineData("JobDelay", "-10675199.02:48:05.4775808", "between 00:00:00 and 1.00:00:00")]
    [InlineData("JobPriority", "-1000001", "between -1000000 and 1000000")]
    [InlineData("JobPriority", "1000001", "between -1000000 and 1000000")]
    [InlineData("JobPriority", "-2147483648", "between -1000000 and 1000000")]
    [InlineData("IdleTimeout", "00:00:00", "between 00:00:01 and 7.00:00:00")]
    [InlineData("IdleTimeout", "00:00:00.999", "between 00:00:01 and 7.00:00:00")]
    [InlineData("IdleTimeout", "-00:00:01", "between 00:00:01 and 7.00:00:00")]
    [InlineData("IdleTimeout", "7.00:00:00.001", "between 00:00:01 and 7.00:00:00")]
    [InlineData("IdleTimeout", "10675199.02:48:05.4775807", "between 00:00:01 and 7.00:00:00")]
    [InlineData("MaxAttempts", "0", "between 1 and 100 runs")]
    [InlineData("MaxAttempts", "-5", "between 1 and 100 runs")]
    [InlineData("MaxAttempts", "101", "between 1 and 100 runs")]
    [InlineData("MaxAttempts", "2147483647", "between 1 and 100 runs")]
    [InlineData("Isolation", "2", "must be InSilo or Process")]
    [InlineData("Isolation", "-1", "must be InSilo or Process")]
    public void A_property_past_its_range_is_refused_naming_the_property_its_value_and_the_range(string property, string value, string range)
    {
        var properties = new WorkStreamProperties().With(Change(property, value));
        var refused = Assert.ThrowsAny<ArgumentException>(() => WorkStreamRules.Validate(properties));
        Assert.StartsWith($"{property} is {Value(properties, property)}: it must", refused.Message);
        Assert.Contains(range, refused.Message);
        Assert.Equal(property, refused.ParamName);
    }

    [Fact]
    public void A_change_changes_only_the_properties_it_names()
    {
        var before = new WorkStreamProperties { SpawnFrequency = 3, MaxWorkersPerNode = 4, JobDelay = TimeSpan.FromSeconds(5), JobPriority = 6, IdleTimeout = TimeSpan.FromMinutes(7), Isolation = WorkerIsolation.Process, MaxAttempts = 8 };
        Assert.Equal(before, before.With(new WorkStreamPropertyChanges()));
        Assert.Equal(before with { SpawnFrequency = 9 }, before.With(new() { SpawnFrequency = 9 }));
        Assert.Equal(before with { MaxWorkersPerNode = 9 }, before.With(new() { MaxWorkersPerNode = 9 }));
        Assert.Equal(before with { JobDelay = TimeSpan.Zero }, before.With(new() { JobDelay = TimeSpan.Zero }));
        Assert.Equal(before with { JobPriority = 0 }, before.With(new() { JobPriority = 0 }));
        Assert.Equal(before with { IdleTimeout = TimeSpan.FromSeconds(1) }, before.With(new() { IdleTimeout = TimeSpan.FromSeconds(1) }));
        Assert.Equal(before with { Isolation = WorkerIsolation.InSilo }, before.With(new() { Isolation = WorkerIsolation.InSilo }));
        Assert.Equal(before with { MaxAttempts = 1 }, before.With(new() { MaxAttempts = 1 }));
        Assert.Equal(before with { MaxAttempts = 1, JobPriority = -1 }, before.With(new() { MaxAttempts = 1, JobPriority = -1 }));
    }

    [Fact]
    public void The_defaults_are_within_every_range()
    {
        var defaults = new WorkStreamProperties();
        WorkStreamRules.Validate(defaults);
        Assert.Equal((10.0, 5, TimeSpan.Zero, 0, TimeSpan.FromSeconds(30), WorkerIsolation.InSilo, 3),
            (defaults.SpawnFrequency, defaults.MaxWorkersPerNode, defaults.JobDelay, defaults.JobPriority, defaults.IdleTimeout, defaults.Isolation, defaults.MaxAttempts));
    }

    [Theory]
    [InlineData("start")]
    [InlineData("stage1")]
    [InlineData("_private")]
    [InlineData("S")]
    [InlineData("a23456789012345678901234567890123456789012345678")] // 48 characters
    public void A_stage_name_of_a_letter_or_underscore_then_letters_digits_or_underscores_is_accepted(string stage) =>
        WorkStreamRules.ValidateStageName(stage);

    [Theory]
    [InlineData("")]
    [InlineData("1st")]
    [InlineData("stage-1")]
    [InlineData("stage 1")]
    [InlineData("stage.1")]
    [InlineData("étape")]
    [InlineData("a234567890123456789012345678901234567890123456789")] // 49 characters
    public void Any_other_stage_name_is_refused_naming_it_and_the_rule(string stage)
    {
        var refused = Assert.Throws<ArgumentException>(() => WorkStreamRules.ValidateStageName(stage));
        Assert.StartsWith($"Stage name '{stage}' is invalid: use a letter or '_' followed by letters, digits or '_', at most 48 characters.", refused.Message);
    }

    [Fact]
    public void A_stream_has_1_to_32_distinct_valid_stages()
    {
        WorkStreamRules.ValidateStages(["start", "stage1"]);
        WorkStreamRules.ValidateStages(["only"]);
        WorkStreamRules.ValidateStages([.. Enumerable.Range(0, 32).Select(i => $"s{i}")]);
        Assert.Contains("A stream has 1 to 32 stages; 0 were given", Assert.Throws<ArgumentException>(() => WorkStreamRules.ValidateStages([])).Message);
        Assert.Contains("A stream has 1 to 32 stages; none were given", Assert.Throws<ArgumentException>(() => WorkStreamRules.ValidateStages(null)).Message);
        Assert.Contains("33 were given", Assert.Throws<ArgumentException>(() => WorkStreamRules.ValidateStages([.. Enumerable.Range(0, 33).Select(i => $"s{i}")])).Message);
        Assert.Contains("Stage 'stage1' is named twice", Assert.Throws<ArgumentException>(() => WorkStreamRules.ValidateStages(["start", "stage1", "stage1"])).Message);
        var bad = Assert.Throws<ArgumentException>(() => WorkStreamRules.ValidateStages(["start", "2nd"]));
        Assert.Equal("stages[1]", bad.ParamName);
        Assert.Contains("Stage name '(null)' is invalid", Assert.Throws<ArgumentException>(() => WorkStreamRules.ValidateStages(["start", null!])).Message);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("My-Id_42")]
    [InlineData("6f9619ff-8b86-d011-b42d-00cf4fc964ff")]
    [InlineData("a234567890123456789012345678901234567890123456789012345678901234")] // 64 characters
    public void A_stream_id_of_1_to_64_letters_digits_dashes_or_underscores_is_accepted(string id) => WorkStreamRules.ValidateStreamId(id);

    [Theory]
    [InlineData("")]
    [InlineData("Bad Id!")]
    [InlineData("a/b")]
    [InlineData("stream:x")]
    [InlineData("a2345678901234567890123456789012345678901234567890123456789012345")] // 65 characters
    public void Any_other_stream_id_is_refused_naming_it_and_the_rule(string id)
    {
        var refused = Assert.Throws<ArgumentException>(() => WorkStreamRules.ValidateStreamId(id, "Id"));
        Assert.StartsWith($"Stream id '{id}' is invalid: use 1 to 64 characters from A-Z, a-z, 0-9, '-' and '_'", refused.Message);
        Assert.Equal("Id", refused.ParamName);
    }

    [Fact]
    public void A_fork_may_override_its_delay_and_priority_only_within_the_streams_ranges()
    {
        WorkStreamRules.ValidateForkOverrides(null, null, "forks[0]");
        WorkStreamRules.ValidateForkOverrides(WorkStreamRules.MaxJobDelay, QueueLimits.MinPriority, "forks[0]");
        Assert.StartsWith("forks[3].Delay is -00:00:01: it must be between 00:00:00 and 1.00:00:00.",
            Assert.ThrowsAny<ArgumentException>(() => WorkStreamRules.ValidateForkOverrides(TimeSpan.FromSeconds(-1), null, "forks[3]")).Message);
        Assert.StartsWith("forks[3].Priority is 1000001: it must be between -1000000 and 1000000.",
            Assert.ThrowsAny<ArgumentException>(() => WorkStreamRules.ValidateForkOverrides(null, QueueLimits.MaxPriority + 1, "forks[3]")).Message);
    }

    [Fact]
    public void Client_options_are_checked_naming_the_option()
    {
        new WorkStreamClientOptions { Id = "run-1", StageBatchSize = 10_000, StallTimeout = TimeSpan.FromSeconds(1), TaskDirectory = "tasks" }.Validate();
        (WorkStreamClientOptions Options, string Name, string Naming)[] refused =
        [
            (new() { Id = "Bad Id!" }, "Id", "Stream id 'Bad Id!' is invalid"),
            (new() { StageBatchSize = 0 }, "StageBatchSize", "StageBatchSize"),
            (new() { StageBatchSize = 10_001 }, "StageBatchSize", "StageBatchSize"),
            (new() { StallTimeout = TimeSpan.FromMilliseconds(999) }, "StallTimeout", "StallTimeout"),
            (new() { TaskDirectory = "" }, "TaskDirectory", "TaskDirectory is empty"),
            (new() { Properties = new WorkStreamProperties { MaxWorkersPerNode = 0 } }, "MaxWorkersPerNode", "MaxWorkersPerNode is 0"),
        ];
        foreach (var (options, name, naming) in refused)
        {
            var error = Assert.ThrowsAny<ArgumentException>(options.Validate);
            Assert.Equal(name, error.ParamName);
            Assert.Contains(naming, error.Message);
        }
    }

    private static string Value(WorkStreamProperties properties, string property) => property switch
    {
        nameof(WorkStreamProperties.SpawnFrequency) => properties.SpawnFrequency.ToString(CultureInfo.CurrentCulture),
        nameof(WorkStreamProperties.MaxWorkersPerNode) => properties.MaxWorkersPerNode.ToString(CultureInfo.CurrentCulture),
        nameof(WorkStreamProperties.JobDelay) => properties.JobDelay.ToString(),
        nameof(WorkStreamProperties.JobPriority) => properties.JobPriority.ToString(CultureInfo.CurrentCulture),
        nameof(WorkStreamProperties.IdleTimeout) => properties.IdleTimeout.ToString(),
        nameof(WorkStreamProperties.MaxAttempts) => properties.MaxAttempts.ToString(CultureInfo.CurrentCulture),
        nameof(WorkStreamProperties.Isolation) => ((int)properties.Isolation).ToString(CultureInfo.CurrentCulture),
        _ => throw new ArgumentOutOfRangeException(nameof(property), property, "not a work-stream property"),
    };
}
