namespace Orleans.Jobs.Runtime;

/// <summary>Marker for every grain interface. A grain is a virtual entity addressed by its interface and key.</summary>
public interface IGrain;

/// <summary>A grain addressed by a string key, such as a queue name.</summary>
public interface IGrainWithStringKey : IGrain;

/// <summary>
/// Names the grain type in storage, reminders and turn locks. Without it the interface's full name is used.
/// Keep it short and stable: it is part of every stored grain id.
/// </summary>
[AttributeUsage(AttributeTargets.Interface, Inherited = false)]
public sealed class GrainTypeAttribute(string name) : Attribute
{
    /// <summary>The stable grain type name.</summary>
    public string Name { get; } = name;
}

/// <summary>
/// Lets a grain method run concurrently with other calls to the same grain, outside the grain's turn.
/// Use it only for methods that touch no grain state, or whose store operations are atomic on their own.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class AlwaysInterleaveAttribute : Attribute;
