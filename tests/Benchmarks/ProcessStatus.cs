using System.Globalization;

namespace Orleans.Jobs.Benchmarks;

/// <summary>What Linux says about another process (/proc/&lt;pid&gt;): its memory and its open handles.</summary>
public static class ProcessStatus
{
    /// <summary>VmRSS and VmHWM (the peak) of a process, in KiB; nulls once it has gone.</summary>
    public static (long? Rss, long? Peak) Memory(int pid)
    {
        var fields = StatusFields(pid, "VmRSS:", "VmHWM:");
        return (fields[0], fields[1]);
    }

    /// <summary>
    /// What a process's resident memory is made of, in KiB (RssAnon, RssFile, RssShmem): anonymous memory (the GC heap,
    /// native heaps, stacks), mapped files (the runtime's and the assemblies' images) and shared memory (.NET maps the
    /// code it compiles and its stubs through a memfd, for W^X); nulls once it has gone.
    /// </summary>
    public static (long? Anonymous, long? Files, long? Shared) ResidentParts(int pid)
    {
        var fields = StatusFields(pid, "RssAnon:", "RssFile:", "RssShmem:");
        return (fields[0], fields[1], fields[2]);
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

    /// <summary>The KiB values of the lines of /proc/&lt;pid&gt;/status that start with <paramref name="names"/>, in their order; nulls once it has gone.</summary>
    private static long?[] StatusFields(int pid, params string[] names)
    {
        var values = new long?[names.Length];
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                var at = Array.FindIndex(names, name => line.StartsWith(name, StringComparison.Ordinal));
                if (at >= 0) values[at] = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
        }
        catch (IOException)
        {
            Array.Clear(values);
        }

        return values;
    }
}
