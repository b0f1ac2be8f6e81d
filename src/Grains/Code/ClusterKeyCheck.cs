namespace Orleans.Jobs.Grains.Code;

/// <summary>
/// The keys that may post and remove code — the silos' <c>Gateway:ClusterKey</c> and every <c>Gateway:Keys</c> entry
/// with the admin role — and the one way to compare a key sent by a caller with them: by digest, in constant time
/// (<see cref="KeyDigest"/>), so a refusal says nothing about the keys.
/// </summary>
/// <param name="key">The silo's own key (<c>Gateway:ClusterKey</c>), which silo-side calls present.</param>
/// <param name="refusal">Set when the silo must refuse every key (a weak key on a silo reachable from other hosts): why.</param>
/// <param name="otherAdminKeys">The other keys with the admin role.</param>
public sealed class ClusterKeyCheck(string key, string? refusal = null, IEnumerable<string>? otherAdminKeys = null)
{
    private readonly KeyDigest[] _admins = [new(key), .. (otherAdminKeys ?? []).Select(k => new KeyDigest(k))];

    /// <summary>The silo's key, for silo-side calls that must present it (fetching posted code).</summary>
    public string Key { get; } = key;

    /// <summary>True when <paramref name="sent"/> is an admin key.</summary>
    public bool Matches(string? sent)
    {
        var matched = false;
        foreach (var admin in _admins) matched |= admin.Matches(sent); // every digest, so the time says not which matched
        return refusal is null && matched;
    }

    /// <summary>Refuses <paramref name="action"/> unless <paramref name="sent"/> is an admin key.</summary>
    /// <exception cref="UnauthorizedAccessException">It is not; the message says what to send.</exception>
    public void Demand(string? sent, string action)
    {
        if (refusal is not null) throw new UnauthorizedAccessException($"{action} is refused: {refusal}");
        if (!Matches(sent))
            throw new UnauthorizedAccessException($"{action} needs an admin key (the silos' Gateway:ClusterKey or a Gateway:Keys entry with Role admin), and the key sent is {(string.IsNullOrEmpty(sent) ? "missing" : "wrong")}.");
    }
}
