namespace Orleans.Jobs.Runtime;

/// <summary>The identity of a grain: its type name and its key.</summary>
/// <param name="Type">The grain type name (see <see cref="GrainTypeAttribute"/>).</param>
/// <param name="Key">The grain key.</param>
public readonly record struct GrainId(string Type, string Key)
{
    /// <summary>The longest key a grain may have, in characters.</summary>
    public const int MaxKeyLength = 256;

    /// <summary>Creates a grain id, rejecting keys that are empty, too long or contain control characters.</summary>
    /// <exception cref="ArgumentException">The key breaks one of the rules; the message names the rule.</exception>
    public static GrainId Create(string type, string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        ValidateKey(key);
        return new GrainId(type, key);
    }

    /// <summary>Checks a grain key against the rules every grain key must follow.</summary>
    public static void ValidateKey(string? key, string paramName = "key")
    {
        if (string.IsNullOrEmpty(key))
            throw new ArgumentException("A grain key must not be empty.", paramName);
        if (key.Length > MaxKeyLength)
            throw new ArgumentException($"A grain key must be at most {MaxKeyLength} characters; this one has {key.Length}.", paramName);
        foreach (var c in key)
        {
            if (char.IsControl(c))
                throw new ArgumentException($"A grain key must not contain control characters (found U+{(int)c:X4}).", paramName);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Type}/{Key}";
}
