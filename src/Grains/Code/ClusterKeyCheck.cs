using System.Security.Cryptography;
using System.Text;

namespace Orleans.Jobs.Grains.Code;

/// <summary>
/// The cluster's shared secret (the silos' <c>Gateway:ClusterKey</c>) and the one way to compare a key sent by a
/// caller with it: in constant time, so the time a refusal takes says nothing about the key.
/// </summary>
/// <param name="key">The silo's key.</param>
/// <param name="refusal">Set when the silo must refuse every key (the development key on a silo reachable from other hosts): why.</param>
public sealed class ClusterKeyCheck(string key, string? refusal = null)
{
    /// <summary>The silo's key, for silo-side calls that must present it (fetching posted code).</summary>
    public string Key { get; } = key;

    /// <summary>True when <paramref name="sent"/> is the key.</summary>
    public bool Matches(string? sent) =>
        refusal is null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(sent ?? ""), Encoding.UTF8.GetBytes(Key));

    /// <summary>Refuses <paramref name="action"/> unless <paramref name="sent"/> is the key.</summary>
    /// <exception cref="UnauthorizedAccessException">It is not; the message says what to send.</exception>
    public void Demand(string? sent, string action)
    {
        if (refusal is not null) throw new UnauthorizedAccessException($"{action} is refused: {refusal}");
        if (!Matches(sent))
            throw new UnauthorizedAccessException($"{action} needs the cluster key, and the key sent is {(string.IsNullOrEmpty(sent) ? "missing" : "wrong")}: pass the silos' Gateway:ClusterKey.");
    }
}
