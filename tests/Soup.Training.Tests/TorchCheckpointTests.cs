using Soup.Merging.Checkpoints;
using static TorchSharp.torch;
using Soup.Training.Checkpoints;
using Soup.Training.Models;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class TorchCheckpointTests
{
    [Fact]
    public void ToTensorData_SmallCnn_IsF32InStateDictOrder()
    {
        using var model = ModelFactory.Create("cnn-small");

        var tensors = TorchCheckpoint.ToTensorData(model);

        Assert.Equal(model.state_dict().Keys, tensors.Select(t => t.Name));
        Assert.All(tensors, t => Assert.Equal(SafetensorsDtype.F32, t.Dtype));
        Assert.Equal(16 * 9 * 4, tensors[0].Data.Length);
    }

    [Fact]
    public void Load_ThenToTensorData_RoundTripsBytes()
    {
        using var source = ModelFactory.Create("cnn-small");
        using var target = ModelFactory.Create("cnn-small");
        var saved = TorchCheckpoint.ToTensorData(source);

        TorchCheckpoint.Load(target, saved, "saved.safetensors");
        var reloaded = TorchCheckpoint.ToTensorData(target);

        Assert.Equal(saved.Select(t => t.Name), reloaded.Select(t => t.Name));
        for (var i = 0; i < saved.Count; i++)
        {
            Assert.Equal(saved[i].Shape, reloaded[i].Shape);
            Assert.True(saved[i].Data.Span.SequenceEqual(reloaded[i].Data.Span), saved[i].Name);
        }
    }

    [Fact]
    public void ToTensorData_Int64Buffer_IsI64()
    {
        using var norm = nn.BatchNorm1d(3);

        var tensors = TorchCheckpoint.ToTensorData(norm);

        var tracked = Assert.Single(tensors, t => t.Name == "num_batches_tracked");
        Assert.Equal(SafetensorsDtype.I64, tracked.Dtype);
        Assert.Equal(8, tracked.Data.Length);
    }

    [Fact]
    public void Load_WrongShape_ThrowsNamingTensorAndSource()
    {
        using var model = ModelFactory.Create("cnn-small");
        var tensors = Replace(TorchCheckpoint.ToTensorData(model), "fc.bias", t => t with { Shape = [5], Data = new byte[20] });

        var error = Assert.Throws<InvalidDataException>(() => TorchCheckpoint.Load(model, tensors, "member-3.safetensors"));

        Assert.Contains("'fc.bias'", error.Message, StringComparison.Ordinal);
        Assert.Contains("member-3.safetensors", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_WrongDtype_ThrowsNamingTensor()
    {
        using var model = ModelFactory.Create("cnn-small");
        var tensors = Replace(TorchCheckpoint.ToTensorData(model), "conv2.bias", t => t with { Dtype = SafetensorsDtype.F64, Data = new byte[32 * 8] });

        var error = Assert.Throws<InvalidDataException>(() => TorchCheckpoint.Load(model, tensors, "ckpt"));

        Assert.Contains("'conv2.bias'", error.Message, StringComparison.Ordinal);
        Assert.Contains("F64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingTensor_ThrowsNamingIt()
    {
        using var model = ModelFactory.Create("cnn-small");
        var tensors = TorchCheckpoint.ToTensorData(model).Where(t => t.Name != "conv1.weight").ToList();

        var error = Assert.Throws<InvalidDataException>(() => TorchCheckpoint.Load(model, tensors, "ckpt"));

        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
        Assert.Contains("'conv1.weight'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnexpectedTensor_ThrowsNamingIt()
    {
        using var model = ModelFactory.Create("cnn-small");
        var tensors = TorchCheckpoint.ToTensorData(model).Append(new TensorData("head.weight", SafetensorsDtype.F32, [1], new byte[4])).ToList();

        var error = Assert.Throws<InvalidDataException>(() => TorchCheckpoint.Load(model, tensors, "ckpt"));

        Assert.Contains("unexpected", error.Message, StringComparison.Ordinal);
        Assert.Contains("'head.weight'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FailedCheck_LeavesModelUnchanged()
    {
        using var model = ModelFactory.Create("cnn-small");
        var before = TorchCheckpoint.ToTensorData(model);
        using var other = ModelFactory.Create("cnn-small");
        var tensors = Replace(TorchCheckpoint.ToTensorData(other), "fc.bias", t => t with { Shape = [2, 5] });

        Assert.Throws<InvalidDataException>(() => TorchCheckpoint.Load(model, tensors, "ckpt"));

        Assert.True(before[0].Data.Span.SequenceEqual(TorchCheckpoint.ToTensorData(model)[0].Data.Span));
    }

    private static List<TensorData> Replace(IReadOnlyList<TensorData> tensors, string name, Func<TensorData, TensorData> change)
        => tensors.Select(t => t.Name == name ? change(t) : t).ToList();
}
