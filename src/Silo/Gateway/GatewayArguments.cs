using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Silo.Gateway;

/// <summary>
/// Turns a call's JSON arguments into a method's parameters. Each argument is first walked token by token against its
/// contract (the serializer's own <see cref="JsonTypeInfo"/>) without building anything: unknown and repeated fields,
/// missing required ones, wrong kinds of value, numbers out of their type's range, and collections or requests with too
/// many values are refused there, naming the field and the rule. Only a call that passes is deserialized.
/// </summary>
public static class GatewayArguments
{
    /// <summary>The most items of one array or one object-as-dictionary: the largest batch any contract allows.</summary>
    public const int MaxItems = QueueLimits.MaxBatchSize > QueueLimits.MaxPurgeJobIds ? QueueLimits.MaxBatchSize : QueueLimits.MaxPurgeJobIds;

    /// <summary>
    /// The most JSON values in one call's arguments: a full send-batch (10,000 jobs with every option) has 70,000.
    /// With <see cref="MaxItems"/> it bounds what a request materialises, however its values are nested.
    /// </summary>
    public const int MaxValues = 100_000;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = GatewayRequest.MaxDepth };

    /// <summary>Reads the arguments of <paramref name="call"/> for <paramref name="method"/>; cancellation tokens get <paramref name="requestAborted"/>.</summary>
    /// <exception cref="ArgumentException">An argument breaks a rule; the message names it and the rule.</exception>
    public static object?[] Read(GatewayRequest call, MethodInfo method, CancellationToken requestAborted)
    {
        var parameters = method.GetParameters();
        var expected = parameters.Count(p => p.ParameterType != typeof(CancellationToken));
        var required = parameters.Count(p => p.ParameterType != typeof(CancellationToken) && !p.HasDefaultValue);
        if (call.ArgumentCount < required || call.ArgumentCount > expected)
            throw new ArgumentException($"{call.Interface}.{call.Method} takes {(required == expected ? $"{expected}" : $"{required} to {expected}")} arguments; the call sent {call.ArgumentCount}.", "arguments");

        var arguments = new object?[parameters.Length];
        var next = 0;
        var budget = MaxValues;
        for (var i = 0; i < parameters.Length; i++)
        {
            var parameter = parameters[i];
            if (parameter.ParameterType == typeof(CancellationToken)) arguments[i] = requestAborted;
            else if (next >= call.ArgumentCount) arguments[i] = parameter.DefaultValue;
            else arguments[i] = ReadOne($"{call.Interface}.{call.Method}", call.Argument(next++), parameter, ref budget);
        }

        return arguments;
    }

    private static object? ReadOne(string call, ReadOnlyMemory<byte> json, ParameterInfo parameter, ref int budget)
    {
        var name = parameter.Name!;
        var contract = GatewayProtocol.Json.GetTypeInfo(parameter.ParameterType);
        var reader = new Utf8JsonReader(json.Span, ReaderOptions);
        reader.Read();
        try
        {
            Check(ref reader, contract, new JsonPath(name), ref budget);
            return JsonSerializer.Deserialize(json.Span, contract);
        }
        catch (InvalidOperationException e)
        {
            throw new ArgumentException($"Argument '{name}' of {call} has text that is not valid Unicode (such as a lone \\ud800 escape): {e.Message}", name);
        }
        catch (JsonException e)
        {
            var message = e.Message.IndexOf(" Path:", StringComparison.Ordinal) is var cut and > 0 ? e.Message[..cut] : e.Message;
            throw new ArgumentException($"Argument '{name}' of {call} is not a valid {TypeName(parameter.ParameterType)}{(e.Path is { Length: > 1 } path ? $" at {name}{path[1..]}" : "")}: {message}", name);
        }
    }

    // The walk builds nothing per value — no path strings, no sets — so a call of many small values costs what its
    // values cost once deserialized; the path becomes text only in an error.
    private static void Check(ref Utf8JsonReader reader, JsonTypeInfo contract, JsonPath path, ref int budget)
    {
        if (--budget < 0)
            throw new ArgumentException($"The call's arguments hold more than {MaxValues} JSON values (reached at {path}): split the work into smaller calls.", path.ToString());
        var type = Nullable.GetUnderlyingType(contract.Type) ?? contract.Type;
        if (reader.TokenType == JsonTokenType.Null)
        {
            if (contract.Type.IsValueType && type == contract.Type)
                throw new ArgumentException($"{path} must not be null: it is {Expected(type)}.", path.ToString());
            return;
        }

        switch (contract.Kind)
        {
            case JsonTypeInfoKind.Object:
                CheckObject(ref reader, contract, path, ref budget);
                break;
            case JsonTypeInfoKind.Enumerable:
                if (reader.TokenType != JsonTokenType.StartArray) throw NotA(ref reader, path, "an array");
                var element = contract.Options.GetTypeInfo(contract.ElementType!);
                for (var count = 0; reader.Read() && reader.TokenType != JsonTokenType.EndArray; count++)
                {
                    CheckCount(count, path);
                    path.Push(count);
                    Check(ref reader, element, path, ref budget);
                    path.Pop();
                }

                break;
            case JsonTypeInfoKind.Dictionary:
                CheckDictionary(ref reader, contract, path, ref budget);
                break;
            default:
                CheckScalar(ref reader, type, path);
                break;
        }
    }

    private static void CheckObject(ref Utf8JsonReader reader, JsonTypeInfo contract, JsonPath path, ref int budget)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw NotA(ref reader, path, $"an object ({TypeName(contract.Type)})");
        var properties = contract.Properties;
        Span<bool> seen = stackalloc bool[properties.Count]; // a contract has a handful of fields
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var index = IndexOfProperty(ref reader, properties);
            if (index < 0)
            {
                var field = $"{path}.{QueueLimits.Shorten(reader.GetString()!)}";
                throw new ArgumentException(
                    $"{field} is not a field of {TypeName(contract.Type)}: it has {string.Join(", ", properties.Select(p => p.Name))}; unknown fields are refused, not ignored.", field);
            }

            path.Push(properties[index].Name);
            if (seen[index]) throw new ArgumentException($"{path} appears twice: each field may be sent once.", path.ToString());
            seen[index] = true;
            reader.Read();
            Check(ref reader, contract.Options.GetTypeInfo(properties[index].PropertyType), path, ref budget);
            path.Pop();
        }

        for (var i = 0; i < properties.Count; i++)
            if (properties[i].IsRequired && !seen[i])
                throw new ArgumentException($"{path}.{properties[i].Name} is missing: every field of {TypeName(contract.Type)} is required.", $"{path}.{properties[i].Name}");
    }

    /// <summary>The contract's property the reader's field names, case aside as the wire's options read it; -1 for none.</summary>
    private static int IndexOfProperty(ref Utf8JsonReader reader, IList<JsonPropertyInfo> properties)
    {
        for (var i = 0; i < properties.Count; i++)
            if (reader.ValueTextEquals(properties[i].Name)) return i; // the usual spelling, compared without making a string
        var name = reader.GetString()!;
        for (var i = 0; i < properties.Count; i++)
            if (string.Equals(properties[i].Name, name, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }

    private static void CheckDictionary(ref Utf8JsonReader reader, JsonTypeInfo contract, JsonPath path, ref int budget)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw NotA(ref reader, path, "an object");
        var value = contract.Options.GetTypeInfo(contract.ElementType!);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            CheckCount(keys.Count, path);
            var key = reader.GetString()!;
            path.PushKey(key);
            if (!keys.Add(key))
            {
                var entry = path.ToString();
                path.Pop();
                throw new ArgumentException($"{entry} appears twice: each key may be sent once.", path.ToString());
            }

            reader.Read();
            Check(ref reader, value, path, ref budget);
            path.Pop();
        }
    }

    private static void CheckCount(int count, JsonPath path)
    {
        if (count == MaxItems)
            throw new ArgumentException($"{path} has more than {MaxItems} items: that is the most any collection of the API takes.", path.ToString());
    }

    private static void CheckScalar(ref Utf8JsonReader reader, Type type, JsonPath path)
    {
        var fits = reader.TokenType switch
        {
            JsonTokenType.String when type == typeof(string) => !reader.ValueIsEscaped || IsText(ref reader, path),
            JsonTokenType.String when type == typeof(Guid) => reader.TryGetGuid(out _),
            JsonTokenType.String when type == typeof(DateTimeOffset) => reader.TryGetDateTimeOffset(out _),
            JsonTokenType.String when type == typeof(TimeSpan) => TimeSpan.TryParseExact(reader.GetString(), "c", CultureInfo.InvariantCulture, out _),
            JsonTokenType.String when type.IsEnum => Enum.TryParse(type, reader.GetString(), ignoreCase: true, out _),
            JsonTokenType.Number when type == typeof(int) => reader.TryGetInt32(out _),
            JsonTokenType.Number when type == typeof(long) => reader.TryGetInt64(out _),
            JsonTokenType.Number when type == typeof(double) => reader.TryGetDouble(out var number) && double.IsFinite(number),
            JsonTokenType.Number when type.IsEnum => reader.TryGetInt32(out _),
            JsonTokenType.True or JsonTokenType.False => type == typeof(bool),
            _ when type == typeof(JsonElement) || !IsKnownScalar(type) => Skip(ref reader), // left to the serializer
            _ => false,
        };
        if (!fits) throw NotA(ref reader, path, Expected(type));
    }

    /// <summary>Whether an escaped string decodes to text; a lone surrogate escape (<c>\ud800</c>) does not.</summary>
    private static bool IsText(ref Utf8JsonReader reader, JsonPath path)
    {
        try
        {
            reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            throw new ArgumentException($"{path} has an escape that is no text (a lone UTF-16 surrogate such as \\ud800): a JSON string must be valid Unicode.", path.ToString());
        }
    }

    private static bool Skip(ref Utf8JsonReader reader)
    {
        reader.Skip();
        return true;
    }

    private static bool IsKnownScalar(Type type) =>
        type == typeof(string) || type == typeof(Guid) || type == typeof(DateTimeOffset) || type == typeof(TimeSpan) || type.IsEnum
        || type == typeof(int) || type == typeof(long) || type == typeof(double) || type == typeof(bool);

    private static ArgumentException NotA(ref Utf8JsonReader reader, JsonPath path, string what) =>
        new($"{path} must be {what}; it is {Shown(ref reader)}.", path.ToString());

    /// <summary>What a field needs, in words a caller in any language reads.</summary>
    private static string Expected(Type type) => type switch
    {
        _ when type == typeof(string) => "a string",
        _ when type == typeof(Guid) => "a GUID string such as \"3f2504e0-4f89-11d3-9a0c-0305e82c3301\"",
        _ when type == typeof(DateTimeOffset) => "an ISO 8601 date and time string",
        _ when type == typeof(TimeSpan) => $"a duration string \"[-][d.]hh:mm:ss[.fffffff]\" such as \"00:00:30\"",
        _ when type.IsEnum => $"one of {string.Join(", ", Enum.GetNames(type))}",
        _ when type == typeof(int) => $"a whole number from {int.MinValue} to {int.MaxValue}",
        _ when type == typeof(long) => $"a whole number from {long.MinValue} to {long.MaxValue}",
        _ when type == typeof(double) => "a finite number",
        _ when type == typeof(bool) => "true or false",
        _ => $"a {TypeName(type)}",
    };

    /// <summary>The value found, as an error shows it: its kind and, for a scalar, its JSON text cut to <see cref="QueueLimits.MaxEchoLength"/> bytes.</summary>
    private static string Shown(ref Utf8JsonReader reader)
    {
        var kind = GatewayRequest.Describe(reader.TokenType);
        if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Number)) return kind;
        var text = reader.ValueSpan;
        var shown = Encoding.UTF8.GetString(text[..Math.Min(text.Length, QueueLimits.MaxEchoLength)]);
        return text.Length > QueueLimits.MaxEchoLength ? $"{kind} '{shown}…' ({text.Length} bytes)" : $"{kind} '{shown}'";
    }

    private static string TypeName(Type type) =>
        Nullable.GetUnderlyingType(type) is { } inner ? TypeName(inner)
        : type.IsGenericType ? $"{type.Name[..type.Name.IndexOf('`')]}<{string.Join(", ", type.GetGenericArguments().Select(TypeName))}>"
        : type.Name;

    /// <summary>Where the walk is in an argument: its name, then fields, indexes and keys. Text only when an error names it.</summary>
    private sealed class JsonPath(string argument)
    {
        private readonly List<(string? Text, int Index, bool Key)> _parts = [];

        public void Push(string field) => _parts.Add((field, 0, false));

        public void Push(int index) => _parts.Add((null, index, false));

        public void PushKey(string key) => _parts.Add((key, 0, true));

        public void Pop() => _parts.RemoveAt(_parts.Count - 1);

        public override string ToString()
        {
            var text = new StringBuilder(argument);
            foreach (var (part, index, key) in _parts)
            {
                if (part is null) text.Append('[').Append(index).Append(']');
                else if (key) text.Append('[').Append(QueueLimits.Echo(part)).Append(']'); // the caller's text, cut
                else text.Append('.').Append(part);
            }

            return text.ToString();
        }
    }
}
