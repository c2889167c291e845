namespace Soup.EndToEnd.Tests;

/// <summary>Tests that hold native torch memory and train run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection
{
    public const string Name = "torch";
}
