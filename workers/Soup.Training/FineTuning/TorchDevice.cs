using TorchSharp;
using static TorchSharp.torch;

namespace Soup.Training.FineTuning;

/// <summary>Picks where training and evaluation run.</summary>
public static class TorchDevice
{
    /// <summary>The device pinned by the enclosing job slot (<see cref="DeviceSlots.Use"/>); else CUDA when torch sees a GPU, else the CPU.</summary>
    public static Device Preferred()
    {
        TorchSetup.Initialize();
        return DeviceSlots.Current ?? (torch.cuda.is_available() ? CUDA : CPU);
    }
}
