namespace Soup.Merging;

/// <summary>
/// Where a checkpoint is read from or written to: a local path, or a blob in the configured storage account.
/// Blob locations are written <c>blob:&lt;container&gt;/&lt;name&gt;</c> or as the blob's full URL; either way the
/// account must be the configured one and the container one the app is configured for, so that a spec or a command
/// line cannot make the merge read or write anywhere else.
/// </summary>
public sealed record CheckpointLocation
{
    private CheckpointLocation(string? path, string? container, string? blobName)
    {
        Path = path;
        Container = container;
        BlobName = blobName;
    }

    /// <summary>The local path, for a file location.</summary>
    public string? Path { get; }

    /// <summary>The container, for a blob location.</summary>
    public string? Container { get; }

    /// <summary>The blob name (or, for a sharded checkpoint, its folder), for a blob location.</summary>
    public string? BlobName { get; }

    /// <summary>True for a blob location.</summary>
    public bool IsBlob => Container is not null;

    /// <summary>A local file or folder.</summary>
    public static CheckpointLocation File(string path) => new(System.IO.Path.GetFullPath(path), null, null);

    /// <summary>A blob in a container of the configured account (checked by <see cref="Parse"/>).</summary>
    public static CheckpointLocation Blob(string container, string blobName) => new(null, container, blobName);

    /// <summary>
    /// Reads a location as written by a user. <paramref name="accountUri"/> is the configured blob endpoint and
    /// <paramref name="allowedContainers"/> the containers the app may touch.
    /// </summary>
    /// <exception cref="ArgumentException">A blob outside the account or the allowed containers, or a bad name.</exception>
    public static CheckpointLocation Parse(string text, Uri accountUri, IReadOnlyCollection<string> allowedContainers)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        string rest;
        if (text.StartsWith("blob:", StringComparison.Ordinal))
        {
            rest = text["blob:".Length..].TrimStart('/');
        }
        else if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
        {
            var account = accountUri.AbsoluteUri.TrimEnd('/') + "/";
            if (!uri.AbsoluteUri.StartsWith(account, StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"'{text}' is outside the configured storage account {account}; only its containers ({string.Join(", ", allowedContainers)}) can be used");
            }

            rest = Uri.UnescapeDataString(uri.AbsoluteUri[account.Length..]);
        }
        else
        {
            return File(text);
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == rest.Length - 1)
        {
            throw new ArgumentException($"'{text}' does not name a blob: write blob:<container>/<name>");
        }

        var container = rest[..slash];
        var name = rest[(slash + 1)..];
        if (!allowedContainers.Contains(container))
        {
            throw new ArgumentException($"container '{container}' of '{text}' is not one the app is configured for ({string.Join(", ", allowedContainers)})");
        }

        if (!BlobPath.IsSafeRelativeName(name))
        {
            throw new ArgumentException($"blob name '{name}' of '{text}' is not a safe relative name (no empty, '.' or '..' segments)");
        }

        return Blob(container, name);
    }

    /// <inheritdoc />
    public override string ToString() => IsBlob ? $"blob:{Container}/{BlobName}" : Path!;
}
