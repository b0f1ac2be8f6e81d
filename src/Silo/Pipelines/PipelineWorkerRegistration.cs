using Orleans.Jobs.Grains.Interfaces.Pipelines;

namespace Orleans.Jobs.Silo.Pipelines;

/// <summary>A pipeline worker this silo runs.</summary>
/// <param name="Name">The name pipelines call it by.</param>
/// <param name="Create">Creates the worker for one step, from the step's service scope.</param>
public sealed record PipelineWorkerRegistration(string Name, Func<IServiceProvider, IPipelineWorker> Create);
