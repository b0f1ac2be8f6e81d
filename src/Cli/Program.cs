using Orleans.Jobs.Cli;

// jobs: JobMon's jm for Orleans.Jobs. Exit codes: 0 ok, 1 the operation failed, 2 bad arguments (nothing changed).
return await JobsCommandLine.RunAsync(args, new CliConsole(Console.Out, Console.Error, !Console.IsOutputRedirected));
