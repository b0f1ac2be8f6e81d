namespace Orleans.Jobs.Grains.Interfaces;

/// <summary>
/// A queue name, possibly local to a node. "resize" is a cluster-wide queue; "resize@node-a" is node-a's own
/// "resize" queue (MarbleRun's per-node bus): only claimers on node-a take its jobs, and data reaches it from
/// other nodes by elevation.
/// </summary>
public readonly record struct QueueName(string Name, string? Node)
{
    /// <summary>The separator between a queue and its node.</summary>
    public const char NodeSeparator = '@';

    /// <summary>True for a node-local queue.</summary>
    public bool IsNodeLocal => Node is not null;

    /// <summary>Parses and validates a queue name.</summary>
    /// <exception cref="ArgumentException">The name is invalid.</exception>
    public static QueueName Parse(string queue)
    {
        QueueLimits.ValidateQueueName(queue);
        var at = queue.IndexOf(NodeSeparator);
        return at < 0 ? new QueueName(queue, null) : new QueueName(queue[..at], queue[(at + 1)..]);
    }

    /// <summary>The node-local queue <paramref name="name"/> of <paramref name="node"/>.</summary>
    /// <exception cref="ArgumentException">The name or node is invalid.</exception>
    public static QueueName Local(string name, string node)
    {
        var parsed = Parse(name);
        if (parsed.IsNodeLocal) throw new ArgumentException($"Queue '{name}' already names a node.", nameof(name));
        QueueLimits.ValidateNodeName(node);
        return new QueueName(parsed.Name, node);
    }

    /// <inheritdoc />
    public override string ToString() => Node is null ? Name : $"{Name}{NodeSeparator}{Node}";
}
