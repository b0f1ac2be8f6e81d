using System.Text.Json;

namespace Orleans.Jobs.Tests.Client;

/// <summary>The client package stays thin: an Orleans client and our contracts, nothing of the silo's.</summary>
public sealed class ClientDependencyTests
{
    [Theory]
    [InlineData("Npgsql", true)]
    [InlineData("Microsoft.AspNetCore.App", false)]
    [InlineData("Microsoft.AspNetCore.Http", true)]
    [InlineData("Microsoft.AspNetCore.Server", true)]
    [InlineData("Orleans.Jobs.Storage", false)]
    [InlineData("Orleans.Jobs.Grains", false)]
    [InlineData("Orleans.Jobs.Silo", false)]
    [InlineData("Microsoft.Orleans.Server", false)]
    [InlineData("Microsoft.Orleans.Persistence.AdoNet", false)]
    public void The_client_dependency_closure_holds_no(string package, bool withItsFamily)
    {
        var names = ClientDependencyNames();
        Assert.Contains("Microsoft.Orleans.Core", names); // the closure was read, and it is an Orleans client
        Assert.DoesNotContain(names, name => name == package || (withItsFamily && name.StartsWith(package + ".", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_only_AspNetCore_packages_are_those_Orleans_core_itself_needs()
    {
        // Orleans.Core (every Orleans client) uses Microsoft.AspNetCore.Connections.Abstractions for its transport; no web framework.
        var aspNet = ClientDependencyNames().Where(n => n.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) && !n.Contains('/')).ToList();
        Assert.Equal(["Microsoft.AspNetCore.Connections.Abstractions"], aspNet);
    }

    /// <summary>Every library in the client's deps.json, by name (with and without version).</summary>
    private static HashSet<string> ClientDependencyNames()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // bin/<Configuration>/net10.0
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Orleans.Jobs.sln"))) root = root.Parent;
        Assert.NotNull(root);
        var path = Path.Combine(root.FullName, "src", "Client", "bin", configuration, "net10.0", "Orleans.Jobs.Client.deps.json");
        Assert.True(File.Exists(path), $"{path} is missing: build src/Client first");
        using var deps = JsonDocument.Parse(File.ReadAllText(path));
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var library in deps.RootElement.GetProperty("libraries").EnumerateObject())
        {
            names.Add(library.Name);
            names.Add(library.Name.Split('/')[0]);
        }

        return names;
    }
}
