using TorchSharp;
using static TorchSharp.torch;

namespace Soup.Training;

/// <summary>
/// How many jobs a worker runs at once and on which device: one job per GPU when CUDA is present, else the configured
/// number of CPU jobs. A job slot pins the device for the code that runs inside it (async-flowing), so training and
/// evaluation of a job on GPU <c>i</c> stay on GPU <c>i</c>.
/// </summary>
public static class DeviceSlots
{
    private static readonly AsyncLocal<Device?> Pinned = new();

    /// <summary>The device pinned by the enclosing <see cref="Use"/>, if any.</summary>
    public static Device? Current => Pinned.Value;

    /// <summary>The number of concurrent jobs: the GPU count when CUDA is available, else <paramref name="cpuJobs"/> (at least 1).</summary>
    public static int Count(int cpuJobs)
    {
        TorchSetup.Initialize();
        return cuda.is_available() ? Math.Max(1, cuda.device_count()) : Math.Max(1, cpuJobs);
    }

    /// <summary>Pins slot <paramref name="slot"/>'s device (GPU <c>slot</c>, or the CPU) until the returned scope is disposed.</summary>
    public static IDisposable Use(int slot)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        TorchSetup.Initialize();
        var previous = Pinned.Value;
        Pinned.Value = cuda.is_available() ? new Device(DeviceType.CUDA, slot % Math.Max(1, cuda.device_count())) : CPU;
        return new Scope(previous);
    }

    private sealed class Scope(Device? previous) : IDisposable
    {
        public void Dispose() => Pinned.Value = previous;
    }
}
