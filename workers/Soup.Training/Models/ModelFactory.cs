using TorchSharp;
using static TorchSharp.torch;

namespace Soup.Training;

/// <summary>Creates the models the workers can fine-tune, by name.</summary>
public static class ModelFactory
{
    /// <summary>The name of <see cref="SmallCnn"/>.</summary>
    public const string SmallCnnName = "cnn-small";

    private static readonly Lock SeedLock = new();

    /// <summary>The model names <see cref="Create(string, ModelShape, double, Generator?)"/> accepts.</summary>
    public static IReadOnlyList<string> KnownModels { get; } = [SmallCnnName];

    /// <summary>Creates a freshly initialised <paramref name="modelName"/> for MNIST-shaped data, on the CPU.</summary>
    public static nn.Module<Tensor, Tensor> Create(string modelName) => Create(modelName, ModelShape.Mnist);

    /// <summary>
    /// Creates a freshly initialised model for data of <paramref name="shape"/>, on the CPU. Every model implements
    /// <see cref="IImageClassifier"/>.
    /// </summary>
    /// <param name="modelName">A name from <see cref="KnownModels"/>.</param>
    /// <param name="shape">The input images and class count.</param>
    /// <param name="dropout">Dropout probability before the classifier head, in [0, 1).</param>
    /// <param name="dropoutGenerator">The generator dropout draws from (null: torch's global one).</param>
    /// <exception cref="ArgumentException">The name is unknown, or the model cannot take <paramref name="shape"/>; the message says why.</exception>
    public static nn.Module<Tensor, Tensor> Create(string modelName, ModelShape shape, double dropout = 0, Generator? dropoutGenerator = null)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        ArgumentNullException.ThrowIfNull(shape);
        TorchSetup.Initialize();
        return modelName switch
        {
            SmallCnnName when shape with { Classes = ModelShape.Mnist.Classes } == ModelShape.Mnist => new SmallCnn(shape.Classes, dropout, dropoutGenerator),
            SmallCnnName => throw new ArgumentException($"Model '{modelName}' takes 1×28×28 images, not {shape}.", nameof(shape)),
            _ => throw new ArgumentException(
                $"Unknown model '{modelName}'. Known models: {string.Join(", ", KnownModels)}.", nameof(modelName)),
        };
    }

    /// <summary>The state-dict prefix of the model's classifier head.</summary>
    public static string HeadPrefix(nn.Module<Tensor, Tensor> model) =>
        model is IImageClassifier classifier ? classifier.HeadPrefix : throw new ArgumentException($"{model.GetName()} has no classifier head.", nameof(model));

    /// <summary>
    /// Seeds torch's global generator and creates the model, holding a lock so that members initialised at the same time
    /// in one process each get the initialisation their seed gives.
    /// </summary>
    internal static nn.Module<Tensor, Tensor> CreateSeeded(string modelName, ModelShape shape, long seed, double dropout = 0, Generator? dropoutGenerator = null)
    {
        TorchSetup.Initialize();
        lock (SeedLock)
        {
            torch.random.manual_seed(seed);
            return Create(modelName, shape, dropout, dropoutGenerator);
        }
    }
}
