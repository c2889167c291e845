using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Soup.Merging.Engine;

/// <summary>How a <see cref="FileSink"/> writes.</summary>
public sealed record FileSinkOptions
{
    /// <summary>
    /// Flush the file to disk (fsync) before renaming it into place, so that a crash never leaves a renamed but
    /// empty file. On by default; benchmarks that compare with <c>cp</c> (which does not sync) may turn it off.
    /// </summary>
    public bool FlushToDisk { get; init; } = true;

    /// <summary>Reserve the whole length when the temporary file is created (fewer extent updates on some file systems).</summary>
    public bool Preallocate { get; init; }

    /// <summary>
    /// With <see cref="FlushToDisk"/>, start writing each range of this many bytes back to disk as soon as it is written
    /// (default 32 MiB; 0 turns it off), so that the final flush only waits for the tail: the disk works while later
    /// ranges are computed instead of all at the end. On Linux through <c>sync_file_range(SYNC_FILE_RANGE_WRITE)</c>,
    /// which starts write-back without waiting for it; elsewhere nothing is started early. Durability is the same
    /// either way: it comes from the flush before the rename.
    /// </summary>
    public int WriteBackBytes { get; init; } = 32 << 20;
}

/// <summary>Creates <see cref="FileSink"/>s in one folder.</summary>
public sealed class FileSinkFactory : ICheckpointSinkFactory
{
    private readonly FileSinkOptions _options;
    private bool _createdFolder;

    /// <summary>Files go to <paramref name="folder"/>, which is created on the first file if missing.</summary>
    public FileSinkFactory(string folder, FileSinkOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        Folder = Path.GetFullPath(folder);
        _options = options ?? new FileSinkOptions();
    }

    /// <summary>The folder.</summary>
    public string Folder { get; }

    /// <inheritdoc />
    public string Describe(string fileName) => Path.Combine(Folder, fileName);

    /// <inheritdoc />
    public ICheckpointSink Create(string fileName, long length)
    {
        if (!Directory.Exists(Folder))
        {
            Directory.CreateDirectory(Folder);
            _createdFolder = true;
        }

        return new FileSink(Describe(fileName), length, _options);
    }

    /// <inheritdoc />
    public ValueTask DeleteAsync(string fileName, CancellationToken cancellationToken)
    {
        FileSink.TryDelete(Describe(fileName));
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask AbandonAsync()
    {
        if (_createdFolder)
        {
            try
            {
                if (!Directory.EnumerateFileSystemEntries(Folder).Any())
                {
                    Directory.Delete(Folder);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Best effort: the merge's own exception is the one worth reporting.
            }
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A local output file written to <c>path + ".partial-" + random</c> in the same folder and renamed over
/// <see cref="Name"/> on commit (atomic on one file system); the temporary file is deleted when the sink is disposed
/// uncommitted.
/// </summary>
public sealed class FileSink : ICheckpointSink
{
    private readonly SafeFileHandle _handle;
    private readonly string _temporaryPath;
    private readonly long _length;
    private readonly FileSinkOptions _options;
    private long _position;
    private long _writtenBack;
    private bool _committed;

    /// <summary>Creates the temporary file for an output of <paramref name="length"/> bytes at <paramref name="path"/>.</summary>
    public FileSink(string path, long length, FileSinkOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Name = path;
        _length = length;
        _options = options ?? new FileSinkOptions();
        _temporaryPath = $"{path}.partial-{Guid.NewGuid():N}";
        _handle = File.OpenHandle(
            _temporaryPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.None, _options.Preallocate ? length : 0);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The temporary file being written.</summary>
    public string TemporaryPath => _temporaryPath;

    /// <inheritdoc />
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_position + data.Length > _length)
            {
                throw new InvalidOperationException($"'{Name}' was announced as {_length} bytes; writing past that.");
            }

            // Synchronous positional write: a page-cache copy, cheaper than a thread-pool hop.
            RandomAccess.Write(_handle, data.Span, _position);
            _position += data.Length;
            if (_options.FlushToDisk && _options.WriteBackBytes > 0 && _position - _writtenBack >= _options.WriteBackBytes)
            {
                var end = _position / _options.WriteBackBytes * _options.WriteBackBytes;
                WriteBack.Start(_handle, _writtenBack, end - _writtenBack);
                _writtenBack = end;
            }

            return ValueTask.CompletedTask;
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    /// <inheritdoc />
    public ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_position != _length)
            {
                throw new InvalidOperationException($"'{Name}' was announced as {_length} bytes, but {_position} were written.");
            }

            if (_options.FlushToDisk)
            {
                RandomAccess.FlushToDisk(_handle);
            }

            _handle.Dispose();
            return ValueTask.CompletedTask;
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    /// <inheritdoc />
    public ValueTask CommitAsync(CancellationToken cancellationToken)
    {
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            _handle.Dispose();
            File.Move(_temporaryPath, Name, overwrite: true);
            _committed = true;
            return ValueTask.CompletedTask;
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _handle.Dispose();
        if (!_committed)
        {
            TryDelete(_temporaryPath);
        }

        return ValueTask.CompletedTask;
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: the merge's own exception is the one worth reporting.
        }
    }
}

/// <summary>Starts write-back of a file range without waiting for it (Linux <c>sync_file_range</c>); a no-op elsewhere
/// or when the call is not available (e.g. some container sandboxes): it only moves work earlier.</summary>
internal static class WriteBack
{
    private const uint SyncFileRangeWrite = 2;
    private static bool _unavailable = !OperatingSystem.IsLinux();

    public static void Start(SafeFileHandle handle, long offset, long length)
    {
        if (_unavailable)
        {
            return;
        }

        try
        {
            if (SyncFileRange((int)handle.DangerousGetHandle(), offset, length, SyncFileRangeWrite) != 0)
            {
                _unavailable = true;
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
        }
    }

    // DllImport rather than LibraryImport: the signature is blittable, and LibraryImport would need unsafe code enabled.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "sync_file_range")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SyncFileRange(int fd, long offset, long nbytes, uint flags);
#pragma warning restore SYSLIB1054
}
