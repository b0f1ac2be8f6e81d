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

/// <summary>How an <see cref="OrderedRows{T, TOrder}"/> orders its items: the key of an item, which must not change while it is held.</summary>
internal interface IRowOrder<in T>
{
    static abstract RowKey KeyOf(T item);
}

/// <summary>
/// Items taken least key first. Items mostly arrive in key order — sends in ascending order, expedites in descending
/// order — so two runs take them in O(1): a queue appended at its back and a stack pushed on its top. Only an item
/// that fits neither run (a retry, a job given back) goes to a heap. The least item is the least of the three heads.
/// The runs hold bare references (keys are read from the items), so a large queue costs one reference per row.
/// Not thread-safe: the store uses it under its queue's lock.
/// </summary>
internal sealed class OrderedRows<T, TOrder> where TOrder : IRowOrder<T>
{
    private readonly Queue<T> _ascending = new();
    private readonly Stack<T> _descending = new();
    private readonly PriorityQueue<T, RowKey> _others = new();
    private RowKey _lastAscending;

    public int Count => _ascending.Count + _descending.Count + _others.Count;

    public void Add(T item)
    {
        var key = TOrder.KeyOf(item);
        if (_ascending.Count == 0 || key.CompareTo(_lastAscending) >= 0)
        {
            _ascending.Enqueue(item);
            _lastAscending = key;
        }
        else if (!_descending.TryPeek(out var top) || key.CompareTo(TOrder.KeyOf(top)) <= 0)
        {
            _descending.Push(item);
        }
        else
        {
            _others.Enqueue(item, key);
        }
    }

    /// <summary>The least item, if any.</summary>
    public bool TryPeek(out T item)
    {
        switch (Least())
        {
            case Source.Ascending:
                item = _ascending.Peek();
                return true;
            case Source.Descending:
                item = _descending.Peek();
                return true;
            case Source.Others:
                item = _others.Peek();
                return true;
            default:
                item = default!;
                return false;
        }
    }

    /// <summary>Removes and returns the least item; there must be one.</summary>
    public T Take() => Least() switch
    {
        Source.Ascending => _ascending.Dequeue(),
        Source.Descending => _descending.Pop(),
        Source.Others => _others.Dequeue(),
        _ => throw new InvalidOperationException("No rows to take."),
    };

    private Source Least()
    {
        var least = Source.None;
        RowKey leastKey = default;
        if (_ascending.TryPeek(out var ascending)) (least, leastKey) = (Source.Ascending, TOrder.KeyOf(ascending));
        if (_descending.TryPeek(out var descending) && TOrder.KeyOf(descending) is var descendingKey && (least == Source.None || descendingKey.CompareTo(leastKey) < 0))
            (least, leastKey) = (Source.Descending, descendingKey);
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
