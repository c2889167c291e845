using Soup.Benchmarks;

namespace Soup.EndToEnd.Tests.Benchmarks;

public sealed class HostCpuTests
{
    [Fact]
    public void Parses_the_aggregate_line_and_takes_differences()
    {
        // user nice system idle iowait irq softirq steal guest guest_nice
        var before = HostCpu.Parse("cpu  100 10 50 800 20 5 15 0 30 0")!.Value;
        var after = HostCpu.Parse("cpu  160 10 70 860 20 5 15 60 40 0")!.Value;

        Assert.Equal(new HostCpu(180, 820, 0), before);
        var between = after - before;
        Assert.Equal(new HostCpu(80, 60, 60), between);
        Assert.Equal(60.0 / 200, between.StealShare, 12);
        Assert.Equal(80.0 / 200, between.BusyShare, 12);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("cpu0 1 2 3 4 5 6 7 8")]
    [InlineData("cpu 1 2 3 4 5 6 7")]
    [InlineData("cpu 1 2 3 x 5 6 7 8")]
    [InlineData("cpu 1 2 3 -4 5 6 7 8")]
    public void Refuses_what_is_not_the_aggregate_line(string? line) => Assert.Null(HostCpu.Parse(line));

    [Fact]
    public void No_ticks_is_no_share() => Assert.Equal(0, default(HostCpu).StealShare);

    [Fact]
    public void Reads_this_machine_where_it_is_linux()
    {
        var now = HostCpu.Read();
        Assert.Equal(File.Exists("/proc/stat"), now.HasValue);
        if (now is { } cpu)
            Assert.True(cpu.Busy + cpu.Idle > 0);
    }
}
