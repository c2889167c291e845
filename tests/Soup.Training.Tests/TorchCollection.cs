namespace Soup.Training.Tests;

/// <summary>All tests that hold native torch memory run one after another, sharing one small synthetic data set.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection : ICollectionFixture<TinyDataFixture>
{
    public const string Name = "Torch";
}
