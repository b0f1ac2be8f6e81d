namespace Orleans.Jobs.Silo.Gateway;

/// <summary>
/// What makes a key fit for an address other hosts can reach: never the development key, and real entropy — at least
/// <see cref="MinLength"/> characters from at least <see cref="MinCharacterClasses"/> classes, or at least
/// <see cref="MinLength"/> hex digits (16 random bytes), as <c>openssl rand -base64 32</c> or <c>openssl rand -hex 32</c> make.
/// </summary>
public static class GatewayKeyRules
{
    /// <summary>The fewest characters of a key used off loopback.</summary>
    public const int MinLength = 32;

    /// <summary>The fewest character classes (lowercase, uppercase, digits, others) of a key used off loopback, unless it is hex.</summary>
    public const int MinCharacterClasses = 3;

    /// <summary>The rule, as refusals state it.</summary>
    public const string Rule = "a key used off loopback needs at least 32 characters from at least 3 classes (lowercase, uppercase, digits, symbols), or at least 32 hex digits; make one with `openssl rand -base64 32`";

    /// <summary>Every key of <paramref name="options"/> with the setting that holds it, for messages that must name the setting and never the key.</summary>
    public static IEnumerable<(string Setting, string Key)> Settings(GatewayOptions options) =>
        options.Keys.Select(k => ($"Gateway:Keys:{k.Key}:Key", k.Value?.Key ?? ""))
            .Prepend(("Gateway:ClusterKey", options.ClusterKey));

    /// <summary>True when <paramref name="key"/> has the entropy the rule asks for.</summary>
    public static bool IsStrong(string key)
    {
        if (key.Length < MinLength) return false;
        if (key.All(char.IsAsciiHexDigit)) return true;
        var classes = new[] { key.Any(char.IsAsciiLetterLower), key.Any(char.IsAsciiLetterUpper), key.Any(char.IsAsciiDigit), key.Any(c => !char.IsAsciiLetterOrDigit(c)) };
        return classes.Count(present => present) >= MinCharacterClasses;
    }

    /// <summary>
    /// The refusal for serving <paramref name="where"/> (an address other hosts can reach) with these keys, naming the
    /// first unfit key's setting and the rule; null when every key is fit.
    /// </summary>
    public static string? CheckExposed(GatewayOptions options, string where)
    {
        foreach (var (setting, key) in Settings(options))
        {
            if (key == GatewayOptions.DevelopmentClusterKey)
                return $"{setting} must be set to a secret on {where}: the development key is only allowed on loopback.";
            if (!IsStrong(key))
                return $"{setting} is too weak for {where}, which other hosts can reach: {Rule}.";
        }

        return null;
    }
}
