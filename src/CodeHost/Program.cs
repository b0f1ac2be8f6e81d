using System.Text;
using Orleans.Jobs.CodeHost;

// stdout carries protocol lines only: what job code writes to Console.Out goes to stderr, with the host's log.
var protocol = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { NewLine = "\n" };
Console.SetOut(Console.Error);
using var requests = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
await new PostedCodeHost(protocol, Console.Error).RunAsync(requests);

// stdin closed: the silo is done with this host, or gone. Calls still running are abandoned, as when a process dies;
// Exit ends them even when job code started foreground threads.
Environment.Exit(0);
