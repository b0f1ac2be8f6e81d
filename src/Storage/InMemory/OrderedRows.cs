namespace Orleans.Jobs.Storage.InMemory;

/// <summary>
/// A sort key of the in-memory store's rows: a time or claim position, then the job id, so no two rows tie.
/// </summary>
internal readonly record struct RowKey(long At, long Id) : IComparable<RowKey>
{
    public int CompareTo(RowKey other)
    {
        var byAt = At.CompareTo(other.At);
        return byAt != 0 ? byAt : Id.CompareTo(other.Id);
    }
}

/// <summary>
/// Items taken least key first. Items mostly arrive in key order — sends in ascending order, expedites in descending
/// order — so two runs take them in O(1): a queue appended at its back and a stack pushed on its top. Only an item
/// that fits neither run (a retry, a job given back) goes to a heap. The least item is the least of the three heads.
/// Not thread-safe: the store uses it under its queue's lock.
/// </summary>
internal sealed class OrderedRows<T>
{
    private readonly Queue<(T Item, RowKey Key)> _ascending = new();
    private readonly Stack<(T Item, RowKey Key)> _descending = new();
    private readonly PriorityQueue<T, RowKey> _others = new();
    private RowKey _lastAscending;

    public int Count => _ascending.Count + _descending.Count + _others.Count;

    public void Add(T item, RowKey key)
    {
        if (_ascending.Count == 0 || key.CompareTo(_lastAscending) >= 0)
        {
            _ascending.Enqueue((item, key));
            _lastAscending = key;
        }
        else if (_descending.Count == 0 || key.CompareTo(_descending.Peek().Key) <= 0)
        {
            _descending.Push((item, key));
        }
        else
        {
            _others.Enqueue(item, key);
        }
    }

    /// <summary>The least item and its key, if any.</summary>
    public bool TryPeek(out T item, out RowKey key)
    {
        var source = Least();
        switch (source)
        {
            case Source.Ascending:
                (item, key) = _ascending.Peek();
                return true;
            case Source.Descending:
                (item, key) = _descending.Peek();
                return true;
            case Source.Others:
                return _others.TryPeek(out item!, out key);
            default:
                item = default!;
                key = default;
                return false;
        }
    }

    /// <summary>Removes and returns the least item; there must be one.</summary>
    public T Take() => Least() switch
    {
        Source.Ascending => _ascending.Dequeue().Item,
        Source.Descending => _descending.Pop().Item,
        Source.Others => _others.Dequeue(),
        _ => throw new InvalidOperationException("No rows to take."),
    };

    private Source Least()
    {
        var least = Source.None;
        RowKey leastKey = default;
        if (_ascending.TryPeek(out var ascending)) (least, leastKey) = (Source.Ascending, ascending.Key);
        if (_descending.TryPeek(out var descending) && (least == Source.None || descending.Key.CompareTo(leastKey) < 0))
            (least, leastKey) = (Source.Descending, descending.Key);
        if (_others.TryPeek(out _, out var other) && (least == Source.None || other.CompareTo(leastKey) < 0))
            least = Source.Others;
        return least;
    }

    private enum Source
    {
        None,
        Ascending,
        Descending,
        Others,
    }
}
