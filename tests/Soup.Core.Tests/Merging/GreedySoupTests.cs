using Soup.Merging.Checkpoints;
using Soup.Merging;
using Soup.Merging.Engine;
using Soup.Core.Tests.Checkpoints;

namespace Soup.Core.Tests.Merging;

/// <summary>
/// The greedy soup's choice and arithmetic, with members in memory and a scorer that reads the candidate's weights:
/// what the evaluation job does with real members and forward passes.
/// </summary>
public sealed class GreedySoupTests
{
    private static readonly MergeParameters Linear = new() { Method = MergeMethods.Linear };

    /// <summary>One-value members; the scorer prefers candidates whose value is near 0.5.</summary>
    private static Task<double> NearHalf(IReadOnlyList<TensorData> tensors, CancellationToken _) =>
        Task.FromResult(1 - Math.Abs(TestTensors.AsFloats(tensors.Single(t => t.Name == "w").Data)[0] - 0.5));

    [Fact]
    public async Task Members_AreTriedInOrderOfAccuracy_AndKeptOnlyWhenTheCandidateDoesNotScoreWorse()
    {
        var store = new Store(new() { ["m0"] = [0.44f], ["m1"] = [0.46f], ["m2"] = [0.6f], ["m3"] = [0.1f] });

        // Ranked 2, 0, 3, 1. {2,0}: mean 0.52 (0.98 ≥ 0.85, kept); {2,0,3}: 0.38 (0.88, dropped); {2,0,1}: 0.5 (1.0, kept).
        var build = await GreedySoup.BuildAsync(
            [("m0", 0.80), ("m1", 0.70), ("m2", 0.85), ("m3", 0.75)], Linear, store.OpenAsync, null, NearHalf,
            new Dictionary<string, string> { ["pipeline"] = "p" }, TestContext.Current.CancellationToken);

        Assert.Equal(["m2", "m0", "m1"], build.Kept);
        Assert.Equal(["m0", "m3", "m1"], build.Trials.Select(t => t.Added));
        Assert.Equal([true, false, true], build.Trials.Select(t => t.Kept));
        Assert.Equal(0.98, build.Trials[0].Accuracy, 5);
        Assert.Equal(0.88, build.Trials[1].Accuracy, 5);
        var soup = Safetensors.Read(build.Soup!, "soup");
        Assert.Equal(0.5f, TestTensors.AsFloats(soup.Tensors[0].Data)[0], 6);
        Assert.Equal(("p", "3", "m2,m0,m1"), (soup.Metadata["pipeline"], soup.Metadata["members"], soup.Metadata["greedy_members"]));

        // The running mean reads each member once: the first two for the first candidate, then one per candidate.
        Assert.Equal(["m2", "m0", "m3", "m1"], store.Opened);
    }

    [Fact]
    public async Task TheRunningMean_IsTheUniformAverageOfTheKeptMembers_UpToFloatRounding()
    {
        var random = new Random(7);
        var members = Enumerable.Range(0, 6).ToDictionary(i => $"m{i}", _ => TestTensors.RandomFloats(random, 4096));
        var store = new Store(members);

        var build = await GreedySoup.BuildAsync(
            [.. members.Keys.Select(k => (k, 0.5))], Linear, store.OpenAsync, null, (_, _) => Task.FromResult(0.5), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(6, build.Kept.Count); // a tie is kept
        var direct = CheckpointMerge.UniformAverage([.. members.Keys.Select(store.Tensors)]);
        var running = TestTensors.AsFloats(Safetensors.Read(build.Soup!, "soup").Tensors.Single(t => t.Name == "w").Data);
        var expected = TestTensors.AsFloats(direct.Single(t => t.Name == "w").Data);
        Assert.All(running.Zip(expected), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-6, $"{p.First} vs {p.Second}"));
        Assert.Equal(TestTensors.AsFloats(store.Tensors("m0").Single(t => t.Name == "b").Data), TestTensors.AsFloats(Safetensors.Read(build.Soup!, "soup").Tensors.Single(t => t.Name == "b").Data));
    }

    [Fact]
    public async Task ATaskVectorMethod_MergesEachCandidateFromItsMembersAndTheBase()
    {
        var store = new Store(new() { ["base"] = [1f], ["m0"] = [1.5f], ["m1"] = [0.5f], ["m2"] = [3f] });
        var arithmetic = new MergeParameters { Method = MergeMethods.TaskArithmetic, Lambda = 1, Weights = [9, 9, 9] }; // weights ignored

        var build = await GreedySoup.BuildAsync(
            [("m0", 0.9), ("m1", 0.8), ("m2", 0.7)], arithmetic, store.OpenAsync, "base", (_, _) => Task.FromResult(1.0),
            cancellationToken: TestContext.Current.CancellationToken);

        // base + Σ (member − base): 1 + 0.5 − 0.5 + 2.
        Assert.Equal(3f, TestTensors.AsFloats(Safetensors.Read(build.Soup!, "soup").Tensors.Single(t => t.Name == "w").Data)[0], 6);
        Assert.Equal(["m0", "m1", "base", "m0", "m1", "m2", "base"], store.Opened);
    }

    [Fact]
    public async Task OneMember_OrNoCandidateAsGood_LeavesTheBestMemberAsItsOwnSoup()
    {
        var store = new Store(new() { ["m0"] = [0.1f], ["m1"] = [0.95f] }); // together: 0.525, scored 0.975

        var alone = await GreedySoup.BuildAsync([("m1", 0.6)], Linear, store.OpenAsync, null, NearHalf, cancellationToken: TestContext.Current.CancellationToken);
        var worse = await GreedySoup.BuildAsync([("m0", 0.99), ("m1", 0.2)], Linear, store.OpenAsync, null, NearHalf, cancellationToken: TestContext.Current.CancellationToken);
        var unscored = await GreedySoup.BuildAsync([("m0", 0.5), ("m1", 0.4)], Linear, store.OpenAsync, null, (_, _) => Task.FromResult(double.NaN), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(["m1"], alone.Kept);
        Assert.Equal((0, true), (alone.Trials.Count, alone.Soup is null));
        Assert.Equal(["m0"], worse.Kept);
        Assert.Equal((false, true), (worse.Trials[0].Kept, worse.Soup is null));
        Assert.Equal(["m0"], unscored.Kept);
        Assert.True(unscored.Soup is null);
    }

    [Fact]
    public async Task ANonFiniteCandidate_FailsTheBuildNamingTheTensor()
    {
        var store = new Store(new() { ["m0"] = [float.NaN], ["m1"] = [0.5f] });

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => GreedySoup.BuildAsync(
            [("m0", 0.1), ("m1", 0.9)], Linear, store.OpenAsync, null, NearHalf, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("'w'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATaskVectorMethodWithoutABase_IsRefusedBeforeAnyRead()
    {
        var store = new Store(new() { ["m0"] = [0.1f], ["m1"] = [0.5f] });

        var error = await Assert.ThrowsAsync<ArgumentException>(() => GreedySoup.BuildAsync(
            [("m0", 0.1), ("m1", 0.9)], new MergeParameters { Method = MergeMethods.Ties }, store.OpenAsync, null, NearHalf, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("base", error.Message, StringComparison.Ordinal);
        Assert.Empty(store.Opened);
    }

    /// <summary>Members by name, each a tensor <c>w</c> (the given values) and an integer tensor <c>b</c>; records each open.</summary>
    private sealed class Store(Dictionary<string, float[]> members)
    {
        private readonly List<string> _opened = [];

        public IReadOnlyList<string> Opened { get { lock (_opened) { return [.. _opened]; } } }

        public IReadOnlyList<TensorData> Tensors(string name) =>
            [TestTensors.F32("w", [members[name].Length], members[name]), TestTensors.I64("b", [1], [42])];

        public Task<ICheckpointSource> OpenAsync(string name, CancellationToken _)
        {
            lock (_opened)
            {
                _opened.Add(name);
            }

            return Task.FromResult<ICheckpointSource>(new InMemorySource(name, Tensors(name)));
        }
    }
}
