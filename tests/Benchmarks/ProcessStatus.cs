using System.Globalization;

namespace Orleans.Jobs.Benchmarks;

/// <summary>What Linux says about another process (/proc/&lt;pid&gt;): its memory and its open handles.</summary>
public static class ProcessStatus
{
    /// <summary>VmRSS and VmHWM (the peak) of a process, in KiB; nulls once it has gone.</summary>
    public static (long? Rss, long? Peak) Memory(int pid)
    {
        try
        {
            long? rss = null, peak = null;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kilobytes(line);
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = Kilobytes(line);
            }

            return (rss, peak);
        }
        catch (IOException)
        {
            return (null, null);
        }

        static long Kilobytes(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    /// <summary>Open file descriptors (files, sockets, pipes) of a process; null once it has gone.</summary>
    public static int? Handles(int pid)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
