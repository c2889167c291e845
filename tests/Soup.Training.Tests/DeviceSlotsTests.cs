using TorchSharp;
using static TorchSharp.torch;

namespace Soup.Training.Tests;

/// <summary>Job slots on a machine without CUDA (CI): the configured number of CPU jobs, each pinned to the CPU.</summary>
[Collection(TorchCollection.Name)]
public sealed class DeviceSlotsTests
{
    [Fact]
    public void Count_NoGpu_IsTheConfiguredCpuJobsAtLeastOne()
    {
        Assert.False(cuda.is_available(), "this test describes the CPU-only case");
        Assert.Equal(3, DeviceSlots.Count(3));
        Assert.Equal(1, DeviceSlots.Count(0));
    }

    [Fact]
    public async Task Use_PinsTheDeviceForCodeInsideTheSlotAndRestoresItAfter()
    {
        Assert.Null(DeviceSlots.Current);
        using (DeviceSlots.Use(1))
        {
            Assert.Equal(DeviceType.CPU, DeviceSlots.Current?.type);
            var seenInside = await Task.Run(() => DeviceSlots.Current);
            Assert.Equal(DeviceType.CPU, seenInside?.type);
        }

        Assert.Null(DeviceSlots.Current);
    }
}
