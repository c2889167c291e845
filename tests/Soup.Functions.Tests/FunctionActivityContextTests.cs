namespace Soup.Functions.Tests;

public sealed class FunctionActivityContextTests
{
    [Fact]
    public void InstanceId_IsTheCallingOrchestrations_FromTheTriggersBindingData()
    {
        var context = new FakeFunctionContext(bindingData: new Dictionary<string, object?> { ["instanceId"] = "p-20261204-0001:round-01" });

        var activity = new FunctionActivityContext("DispatchJobs", context);

        Assert.Equal("p-20261204-0001:round-01", activity.InstanceId);
        Assert.Equal("DispatchJobs", activity.Name.Name);
    }

    [Fact]
    public void InstanceId_WithoutBindingData_SaysItIsUnknown_NotTheInvocationId()
    {
        var activity = new FunctionActivityContext("DispatchJobs", new FakeFunctionContext(bindingData: new Dictionary<string, object?>()));

        Assert.Equal("(unknown instance; invocation test)", activity.InstanceId);
    }
}
