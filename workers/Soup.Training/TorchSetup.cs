using TorchSharp;

namespace Soup.Training;

/// <summary>Process-wide TorchSharp settings, applied once before the first torch call.</summary>
public static class TorchSetup
{
    private static readonly Lazy<int> Threads = new(Apply);

    /// <summary>The number of intra-op threads torch uses (the processor count).</summary>
    public static int ThreadCount => Threads.Value;

    /// <summary>Loads the native libraries and sets torch's thread count to <see cref="Environment.ProcessorCount"/>; later calls do nothing.</summary>
    /// <exception cref="InvalidOperationException">The native libraries do not load.</exception>
    public static void Initialize() => _ = Threads.Value;

    private static int Apply()
    {
        try
        {
            torch.set_num_threads(Environment.ProcessorCount);
            return torch.get_num_threads();
        }
        catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException)
        {
            throw new InvalidOperationException(
                "TorchSharp's native libraries did not load. On hosts whose libstdc++ lacks GLIBCXX_3.4.32 (Debian 12, Ubuntu 22.04) "
                + "the project that runs torch must import workers/TorchSharpNativeFix.targets.", e);
        }
    }
}
