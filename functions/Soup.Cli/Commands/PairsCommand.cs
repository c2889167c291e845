using System.CommandLine;
using System.Globalization;
using Soup.Core.Jobs;
using Soup.Merging.Checkpoints;
using Soup.Training.Checkpoints;
using Soup.Training.FineTuning;
using Soup.Training.Models;
using Soup.Training.Text;

namespace Soup.Cli.Commands;

/// <summary>
/// <c>pipeline pairs</c>: WARM's preference data from a text corpus. A policy (a GPT-2 checkpoint, or gpt2-tiny
/// pretrained here on the corpus's training documents) samples two completions of prompts cut from held-out documents;
/// a gold reward labels them; a fraction of the training labels is flipped. Writes
/// <c>NAME-noisy/pairs.jsonl</c> (training), <c>NAME-clean/pairs.jsonl</c> (the same pairs, gold labels),
/// <c>NAME-test/pairs.jsonl</c> (other prompts, gold labels) and the policy under the output folder.
/// </summary>
public static class PairsCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Build()
    {
        var corpus = new Option<DirectoryInfo>("--corpus") { Description = "The text corpus (default: Debian's fortunes, /usr/share/games/fortunes).", DefaultValueFactory = _ => new DirectoryInfo("/usr/share/games/fortunes") };
        var output = new Option<DirectoryInfo>("--out") { Description = "The data root the datasets are written under.", Required = true };
        var name = new Option<string>("--name") { Description = "The datasets' name prefix.", DefaultValueFactory = _ => "fortune-prefs" };
        var policy = new Option<FileInfo?>("--policy") { Description = "A GPT-2 language model's safetensors (ours or Hugging Face's); default: gpt2-tiny pretrained here." };
        var model = new Option<string>("--model") { Description = "The policy's size.", DefaultValueFactory = _ => Gpt2Config.Tiny.Name };
        var pretrainSteps = new Option<int>("--pretrain-steps") { Description = "Steps of the policy's pretraining on the corpus when no --policy is given.", DefaultValueFactory = _ => 300 };
        var reward = new Option<string>("--reward") { Description = $"The gold reward: {string.Join(", ", GoldRewards.All.Select(r => r.Name))}.", DefaultValueFactory = _ => GoldRewards.PositivityName };
        var noise = new Option<double>("--noise") { Description = "The share of training labels flipped, in [0, 0.5].", DefaultValueFactory = _ => 0.25 };
        var train = new Option<int>("--train-pairs") { Description = "Training pairs.", DefaultValueFactory = _ => 2000 };
        var test = new Option<int>("--test-pairs") { Description = "Test pairs (other prompts, gold labels).", DefaultValueFactory = _ => 500 };
        var promptTokens = new Option<int>("--prompt-tokens") { Description = "Tokens of each prompt.", DefaultValueFactory = _ => 8 };
        var newTokens = new Option<int>("--max-new-tokens") { Description = "Tokens of each completion at most.", DefaultValueFactory = _ => 24 };
        var completions = new Option<string>("--completions")
        {
            Description = "Where completions come from: 'policy' samples them (WARM's setting), 'corpus' takes real continuations (a document's next tokens against another document's; seconds, no model).",
            DefaultValueFactory = _ => "policy",
        };
        completions.AcceptOnlyFromAmong("policy", "corpus");
        var seed = new Option<int>("--seed") { Description = "Seeds the pretraining, the split, the sampling and the flips.", DefaultValueFactory = _ => 0 };
        var command = new Command("pairs", "Make preference pairs for reward models (WARM): a policy samples two completions per prompt, a gold reward labels them, a fraction of labels is flipped.")
        {
            corpus, output, name, policy, model, pretrainSteps, reward, noise, train, test, promptTokens, newTokens, completions, seed,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(Guarded(() => Execute(
            parse.GetValue(corpus)!, parse.GetValue(output)!, parse.GetValue(name)!, parse.GetValue(policy), parse.GetValue(model)!, parse.GetValue(pretrainSteps),
            GoldRewards.Get(parse.GetValue(reward)!), new PairGenerationOptions(parse.GetValue(train), parse.GetValue(test), new SamplingOptions(parse.GetValue(newTokens)), parse.GetValue(noise), parse.GetValue(seed)),
            parse.GetValue(promptTokens), parse.GetValue(completions) == "corpus", cancellationToken))));
        return command;
    }

    /// <summary>
    /// Runs <paramref name="execute"/>; input it cannot use (no corpus there, too few documents or pairs, an unreadable
    /// or unfitting policy, an option out of range) is one line on stderr and exit code 2, with nothing written.
    /// </summary>
    private static int Guarded(Func<int> execute)
    {
        try
        {
            return execute();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidDataException or IOException)
        {
            Console.Error.WriteLine($"pairs: {ex.Message.ReplaceLineEndings(" ")}");
            Console.Error.WriteLine("Nothing was written.");
            return 2;
        }
    }

    private static int Execute(
        DirectoryInfo corpusFolder, DirectoryInfo output, string name, FileInfo? policyFile, string model, int pretrainSteps, GoldReward reward,
        PairGenerationOptions options, int promptTokens, bool fromCorpus, CancellationToken cancellationToken)
    {
        var tokenizer = TextTokenizer.Get(TextTokenizer.Gpt2Name);
        var text = TextCorpus.Read(corpusFolder.FullName);
        if (fromCorpus)
        {
            // No policy is trained, so every document can give a pair; training and test pairs still share none.
            Console.Error.WriteLine($"corpus {corpusFolder.FullName}: {text.Documents.Count} documents");
            var real = PreferenceGeneration.FromCorpus(text.Documents, promptTokens, tokenizer, reward, options, new Progress<PairProgress>(line => Console.Error.WriteLine(line)));
            return Write(real, output, name, reward, corpusFolder);
        }

        var split = text.Split(0.2, options.Seed);
        Console.Error.WriteLine($"corpus {corpusFolder.FullName}: {split.Train.Count} training documents, {split.HeldOut.Count} held out");

        using var policy = new Gpt2LanguageModel(LanguageModelling.Config(model));
        var policyPath = Path.Combine(output.FullName, name + "-policy.safetensors");
        if (policyFile is not null)
        {
            Gpt2Checkpoint.Load(policy, Safetensors.Read(File.ReadAllBytes(policyFile.FullName), policyFile.FullName).Tensors, policyFile.FullName);
        }
        else
        {
            var settings = new TrainSettings { Optimizer = Optimizers.AdamW, Steps = pretrainSteps, BatchSize = 8, LearningRate = 1e-3, Seed = options.Seed };
            using var objective = new LanguageModelling(TokenBlocks.Pack(split.Train, tokenizer, policy.Config.Context));
            var result = FineTuner.Run(new FineTuneOptions(model, settings), objective, null, null, new ProgressLines(), cancellationToken);
            Gpt2Checkpoint.Load(policy, result.Weights, "pretrained policy");
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"policy pretrained: {pretrainSteps} steps, final loss {result.FinalLoss:F3}, {result.PerSecond:F0} tokens/s"));
            Directory.CreateDirectory(output.FullName);
            using var file = File.Create(policyPath);
            Safetensors.Write(file, result.Weights, new Dictionary<string, string> { ["model"] = model, ["corpus"] = corpusFolder.FullName });
        }

        TorchSharp.ModuleExtensionMethods.to(policy, TorchDevice.Preferred());
        var prompts = split.Prompts(tokenizer, split.HeldOut.Count, promptTokens);
        var pairs = PreferenceGeneration.Generate(policy, prompts, tokenizer, reward, options, new Progress<PairProgress>(line => Console.Error.WriteLine(line)));
        return Write(pairs, output, name, reward, corpusFolder);
    }

    /// <summary>Writes the three datasets; each is written beside its place, then moved in, so a failure leaves no half-written dataset.</summary>
    private static int Write(GeneratedPairs pairs, DirectoryInfo output, string name, GoldReward reward, DirectoryInfo corpusFolder)
    {
        var sets = new[] { ("noisy", pairs.Train), ("clean", pairs.TrainClean), ("test", pairs.Test) };
        var staged = new List<(string Temporary, string Final)>();
        foreach (var (suffix, set) in sets)
        {
            var folder = Directory.CreateDirectory(Path.Combine(output.FullName, $"{name}-{suffix}"));
            var final = Path.Combine(folder.FullName, "pairs.jsonl");
            var temporary = final + ".partial";
            PreferencePairs.Write(temporary, set);
            staged.Add((temporary, final));
        }

        foreach (var (temporary, final) in staged)
            File.Move(temporary, final, overwrite: true);

        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{pairs.Train.Count} training pairs ({pairs.Flipped} labels flipped) and {pairs.Test.Count} test pairs from {pairs.PromptsUsed} prompts ({pairs.Ties} ties and {pairs.Empty} empty completions skipped, reward {reward.Name}, corpus {corpusFolder.FullName}) under {output.FullName}: {name}-noisy, {name}-clean, {name}-test"));
        return 0;
    }

    private sealed class ProgressLines : ITrainingObserver
    {
        public void Progress(TrainingProgress progress) => Console.Error.WriteLine(string.Create(
            CultureInfo.InvariantCulture, $"pretraining the policy: step {progress.Step}/{progress.TotalSteps}, loss {progress.Loss:F3}, {progress.PerSecond:F0} {progress.Unit}/s"));

        public void Checkpoint(TrainingState state)
        {
        }
    }
}
