using Soup.Training.Data;
namespace Soup.Training.Tests;

/// <summary>A TinyIdxDataset written once (600 train, 200 test examples) and its loaded splits.</summary>
public sealed class TinyDataFixture : IDisposable
{
    public TinyDataFixture()
    {
        TinyIdxDataset.Write(Folder.Path, trainCount: 600, testCount: 200, seed: 7);
        Train = DatasetCatalog.Load(Folder.Path, DatasetCatalog.TrainSplit, limit: null, validationFraction: 0, splitSeed: 1);
        Test = DatasetCatalog.Load(Folder.Path, DatasetCatalog.TestSplit, limit: null, validationFraction: 0, splitSeed: 1);
    }

    public TempFolder Folder { get; } = new();

    public ImageClassificationData Train { get; }

    public ImageClassificationData Test { get; }

    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
        Folder.Dispose();
    }
}
