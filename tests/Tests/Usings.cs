global using Xunit;
global using Orleans.Jobs.Tests.Support;
global using Microsoft.AspNetCore.Builder;
