global using Xunit;
global using Orleans.Jobs.Tests.Support;
