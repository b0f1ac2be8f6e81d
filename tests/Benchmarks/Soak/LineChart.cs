using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Orleans.Jobs.Benchmarks.Soak;

/// <summary>
/// A plain line chart as a PNG, with no library: series drawn as lines over light grid lines, axes from zero. The
/// numbers (axis ranges, legend) go in the text next to the image; the picture shows the shape.
/// </summary>
public static class LineChart
{
    public static readonly (byte R, byte G, byte B)[] Colors = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189)];
    public static readonly string[] ColorNames = ["blue", "red", "green", "purple"];

    private const int Width = 800;
    private const int Height = 300;
    private const int Margin = 20;

    /// <summary>Draws each series ((x, y) points) in its color on axes from 0 to <paramref name="maxX"/> and 0 to <paramref name="maxY"/>.</summary>
    public static byte[] Png(IReadOnlyList<IReadOnlyList<(double X, double Y)>> series, double maxX, double maxY)
    {
        var pixels = new byte[Width * Height * 3];
        Array.Fill(pixels, (byte)255);
        for (var g = 0; g <= 4; g++)
        {
            var y = Margin + (Height - 2 * Margin) * g / 4;
            Line(pixels, Margin, y, Width - Margin, y, (225, 225, 225));
        }

        Line(pixels, Margin, Margin, Margin, Height - Margin, (0, 0, 0));
        Line(pixels, Margin, Height - Margin, Width - Margin, Height - Margin, (0, 0, 0));
        for (var s = 0; s < series.Count; s++)
        {
            var points = series[s].Select(p => (X: Margin + (int)(p.X / maxX * (Width - 2 * Margin)), Y: Height - Margin - (int)(p.Y / maxY * (Height - 2 * Margin)))).ToList();
            for (var i = 1; i < points.Count; i++)
            {
                Line(pixels, points[i - 1].X, points[i - 1].Y, points[i].X, points[i].Y, Colors[s % Colors.Length]);
                Line(pixels, points[i - 1].X, points[i - 1].Y + 1, points[i].X, points[i].Y + 1, Colors[s % Colors.Length]);
            }
        }

        return Encode(pixels);
    }

    private static void Line(byte[] pixels, int x0, int y0, int x1, int y1, (byte R, byte G, byte B) color)
    {
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, error = dx + dy;
        while (true)
        {
            if (x0 is >= 0 and < Width && y0 is >= 0 and < Height)
            {
                var at = (y0 * Width + x0) * 3;
                (pixels[at], pixels[at + 1], pixels[at + 2]) = color;
            }

            if (x0 == x1 && y0 == y1) return;
            var twice = 2 * error;
            if (twice >= dy) { error += dy; x0 += sx; }
            if (twice <= dx) { error += dx; y0 += sy; }
        }
    }

    private static byte[] Encode(byte[] pixels)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, Width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), Height);
        header[8] = 8; // bits per channel
        header[9] = 2; // RGB
        Chunk(png, "IHDR", header);
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
                for (var row = 0; row < Height; row++)
                {
                    zlib.WriteByte(0); // no filter
                    zlib.Write(pixels, row * Width * 3, Width * 3);
                }

            Chunk(png, "IDAT", compressed.ToArray());
        }

        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        Span<byte> number = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(number, data.Length);
        png.Write(number);
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        png.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(number, Crc32(typeAndData));
        png.Write(number);
    }

    /// <summary>The CRC-32 PNG chunks end with (ISO 3309, as zlib's).</summary>
    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        }

        return crc ^ 0xFFFFFFFFu;
    }
}
