using TorchSharp;
using static TorchSharp.torch;

namespace Soup.Training;

/// <summary>Creates the models the workers can fine-tune, by name.</summary>
public static class ModelFactory
{
    /// <summary>The name of <see cref="SmallCnn"/>.</summary>
    public const string SmallCnnName = "cnn-small";

    private static readonly Lock SeedLock = new();

    /// <summary>The model names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> KnownModels { get; } = [SmallCnnName];

    /// <summary>Creates a freshly initialised model on the CPU.</summary>
    /// <exception cref="ArgumentException"><paramref name="modelName"/> is not one of <see cref="KnownModels"/>.</exception>
    public static nn.Module<Tensor, Tensor> Create(string modelName)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        TorchSetup.Initialize();
        return modelName switch
        {
            SmallCnnName => new SmallCnn(),
            _ => throw new ArgumentException(
                $"Unknown model '{modelName}'. Known models: {string.Join(", ", KnownModels)}.", nameof(modelName)),
        };
    }

    /// <summary>
    /// Seeds torch's global generator and creates the model, holding a lock so that members initialised at the same time
    /// in one process each get the initialisation their seed gives.
    /// </summary>
    internal static nn.Module<Tensor, Tensor> CreateSeeded(string modelName, long seed)
    {
        TorchSetup.Initialize();
        lock (SeedLock)
        {
            torch.random.manual_seed(seed);
            return Create(modelName);
        }
    }
}
