global using Xunit;
global using Orleans.Jobs.Tests.Support;
global using Microsoft.AspNetCore.Builder;
global using Orleans.Jobs.Silo.Pipelines;
