namespace Orleans.Jobs.Tests.Support;

/// <summary>Reports tests leave in the repository's .artifacts directory (proof figures quoted in the docs).</summary>
public static class TestArtifacts
{
    public static string Directory => Path.Combine(FindRepositoryRoot(), ".artifacts");

    public static async Task WriteAsync(string name, string content)
    {
        System.IO.Directory.CreateDirectory(Directory);
        await File.WriteAllTextAsync(Path.Combine(Directory, name), content, TestContext.Current.CancellationToken);
    }

    private static string FindRepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Orleans.Jobs.sln"))) directory = directory.Parent;
        return directory?.FullName ?? AppContext.BaseDirectory;
    }
}
