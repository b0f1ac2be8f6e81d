namespace Orleans.Jobs.Runtime.Storage;

/// <summary>An async mutex per key; entries are removed when nobody holds or waits for them.</summary>
internal sealed class KeyedAsyncLock<TKey> where TKey : notnull
{
    private readonly Dictionary<TKey, Entry> _entries = [];

    public async Task<IAsyncDisposable> AcquireAsync(TKey key, CancellationToken cancellationToken)
    {
        Entry entry;
        lock (_entries)
        {
            if (!_entries.TryGetValue(key, out entry!))
                _entries[key] = entry = new Entry();
            entry.References++;
        }

        try
        {
            await entry.Semaphore.WaitAsync(cancellationToken);
        }
        catch
        {
            Dereference(key, entry);
            throw;
        }

        return new Holder(this, key, entry);
    }

    private void Dereference(TKey key, Entry entry)
    {
        lock (_entries)
        {
            if (--entry.References == 0)
                _entries.Remove(key);
        }
    }

    private sealed class Entry
    {
        public readonly SemaphoreSlim Semaphore = new(1, 1);
        public int References;
    }

    private sealed class Holder(KeyedAsyncLock<TKey> owner, TKey key, Entry entry) : IAsyncDisposable
    {
        private int _released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                entry.Semaphore.Release();
                owner.Dereference(key, entry);
            }

            return ValueTask.CompletedTask;
        }
    }
}
