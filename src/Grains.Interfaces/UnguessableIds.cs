using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Orleans.Jobs.Grains.Interfaces;

/// <summary>
/// Unguessable ids — lease tokens, claim ids: version-4 GUIDs from the system's secure random source, read a block
/// at a time per thread. <see cref="Guid.NewGuid"/> reads that source once per id, a system call of about 1.5 µs of
/// CPU on a 2-core VM, which a claim or a lease per job cannot afford.
/// </summary>
public static class UnguessableIds
{
    private const int BlockSize = 64;

    [ThreadStatic] private static Guid[]? t_block;
    [ThreadStatic] private static int t_next;

    /// <summary>A fresh random id.</summary>
    public static Guid Next()
    {
        var block = t_block;
        var next = t_next;
        if (block is null || next == BlockSize)
        {
            block = t_block ??= new Guid[BlockSize];
            Refill(block);
            next = 0;
        }

        t_next = next + 1;
        var id = block[next];
        block[next] = Guid.Empty; // a handed-out id does not linger here
        return id;
    }

    private static void Refill(Guid[] block)
    {
        var bytes = MemoryMarshal.AsBytes(block.AsSpan());
        RandomNumberGenerator.Fill(bytes);
        for (var at = 0; at < bytes.Length; at += 16)
        {
            bytes[at + 7] = (byte)((bytes[at + 7] & 0x0F) | 0x40); // version 4 (random), as Guid.NewGuid
            bytes[at + 8] = (byte)((bytes[at + 8] & 0x3F) | 0x80); // RFC 4122 variant
        }
    }
}
