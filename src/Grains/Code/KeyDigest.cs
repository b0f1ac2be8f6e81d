using System.Security.Cryptography;
using System.Text;

namespace Orleans.Jobs.Grains.Code;

/// <summary>
/// A secret kept only as its SHA-256 digest, compared with a sent key in constant time. Both sides are hashed first,
/// so the comparison always covers 32 bytes: neither the time it takes nor its result says how long the secret is or
/// how much of it a guess got right.
/// </summary>
public sealed class KeyDigest
{
    private readonly byte[] _digest;

    /// <summary>Keeps the digest of <paramref name="key"/>.</summary>
    public KeyDigest(string key) => _digest = Digest(key);

    /// <summary>True when <paramref name="sent"/> is the key.</summary>
    public bool Matches(string? sent) => CryptographicOperations.FixedTimeEquals(Digest(sent ?? ""), _digest);

    private static byte[] Digest(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
