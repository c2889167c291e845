using Soup.Core.Specs;

namespace Soup.Core.Tests.Specs;

public sealed class MemberPlannerTests
{
    private static PipelineSpec Spec(MembersSpec members, int seed = 3) => new() { Name = "t", Seed = seed, Members = members };

    [Fact]
    public void Plan_RandomSearch_SameSpecSameDrawsAndEveryDrawInItsRange()
    {
        var search = new SearchSpace
        {
            LearningRate = new Distribution { Min = 1e-4, Max = 1e-1, Log = true },
            Dropout = new Distribution { Values = [0, 0.1, 0.5] },
            WeightDecay = new Distribution { Min = 0, Max = 0.01 },
            BatchSize = new Distribution { Values = [16, 32, 64] },
            Steps = new Distribution { Min = 50, Max = 80 },
            Optimizer = ["sgd", "adamw"],
        };
        var spec = Spec(new MembersSpec { Count = 200, Search = search });

        var plan = MemberPlanner.Plan(spec, 1);

        Assert.Equal(plan.Select(p => p.Settings), MemberPlanner.Plan(spec, 1).Select(p => p.Settings));
        Assert.All(plan, p =>
        {
            Assert.InRange(p.Settings.LearningRate, 1e-4, 1e-1);
            Assert.Contains(p.Settings.Dropout, new[] { 0, 0.1, 0.5 });
            Assert.InRange(p.Settings.WeightDecay, 0, 0.01);
            Assert.Contains(p.Settings.BatchSize, new[] { 16, 32, 64 });
            Assert.InRange(p.Settings.Steps, 50, 80);
            Assert.Contains(p.Settings.Optimizer, new[] { "sgd", "adamw" });
        });

        // Log-uniform: about a third of the draws in each decade (uniform would put 90 % in the last one).
        var decades = plan.GroupBy(p => (int)Math.Floor(Math.Log10(p.Settings.LearningRate))).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(new[] { -4, -3, -2 }, d => Assert.InRange(decades.GetValueOrDefault(d), 40, 95));
        Assert.Equal(3, plan.Select(p => p.Settings.Dropout).Distinct().Count());
        Assert.Equal(2, plan.Select(p => p.Settings.Optimizer).Distinct().Count());
        Assert.True(plan.Select(p => p.Settings.LearningRate).Distinct().Count() > 190);
    }

    [Fact]
    public void Plan_RandomSearch_AnotherSeedOtherDrawsSameRoundsSameHyperparametersOtherSeeds()
    {
        var members = new MembersSpec { Count = 8, Search = new SearchSpace { LearningRate = new Distribution { Min = 0.01, Max = 0.1 } } };
        var spec = Spec(members);

        var round1 = MemberPlanner.Plan(spec, 1);
        var round2 = MemberPlanner.Plan(spec, 2);
        var reseeded = MemberPlanner.Plan(spec with { Members = members with { Search = members.Search! with { Seed = 99 } } }, 1);

        Assert.Equal(round1.Select(p => p.Settings.LearningRate), round2.Select(p => p.Settings.LearningRate));
        Assert.NotEqual(round1.Select(p => p.Settings.Seed), round2.Select(p => p.Settings.Seed));
        Assert.NotEqual(round1.Select(p => p.Settings.LearningRate), reseeded.Select(p => p.Settings.LearningRate));
        Assert.Equal(round1.Select(p => p.Settings.Seed), reseeded.Select(p => p.Settings.Seed));
    }

    [Fact]
    public void Plan_Grid_TakesEveryCombinationInOrderLastDimensionFastest()
    {
        var search = new SearchSpace
        {
            Sampling = SearchSampling.Grid,
            LearningRate = new Distribution { Values = [0.01, 0.1] },
            Dropout = new Distribution { Values = [0, 0.5] },
            Optimizer = ["sgd", "adam"],
        };

        var plan = MemberPlanner.Plan(Spec(new MembersSpec { Count = 9, Search = search }), 1);

        Assert.Equal(8, MemberPlanner.GridSize(search));
        Assert.Equal(
            [(0.01, 0.0, "sgd"), (0.01, 0.0, "adam"), (0.01, 0.5, "sgd"), (0.01, 0.5, "adam"), (0.1, 0.0, "sgd"), (0.1, 0.0, "adam"), (0.1, 0.5, "sgd"), (0.1, 0.5, "adam"), (0.01, 0.0, "sgd")],
            plan.Select(p => (p.Settings.LearningRate, p.Settings.Dropout, p.Settings.Optimizer)));
    }

    [Fact]
    public void Plan_Explicit_WinsOverSearchWhichWinsOverMembersDefaults()
    {
        var members = new MembersSpec
        {
            Count = 3, Steps = 40, Momentum = 0.8, LearningRates = null,
            Search = new SearchSpace { Momentum = new Distribution { Values = [0.5] } },
            Explicit = [new MemberSettings { Momentum = 0.1, Seed = 1234, ClassWeights = [1, 3], Domains = ["15"] }, new MemberSettings(), new MemberSettings { Steps = 10 }],
        };
        var spec = Spec(members) with { Data = new DataSpec { Layout = "rotated", TrainDomains = ["0", "15"] } };

        var plan = MemberPlanner.Plan(spec, 2);

        Assert.Equal([0.1, 0.5, 0.5], plan.Select(p => p.Settings.Momentum));
        Assert.Equal([40, 40, 10], plan.Select(p => p.Settings.Steps));
        Assert.Equal(1234, plan[0].Settings.Seed);
        Assert.Equal(MemberPlanner.MemberSeed(spec, 2, 1), plan[1].Settings.Seed);
        Assert.Equal([1.0, 3.0], plan[0].Settings.ClassWeights!);
        Assert.Equal(["15"], plan[0].Domains!);
        Assert.Equal(["0", "15"], plan[1].Domains!);
        Assert.Equal(MembersSpec.DefaultLearningRates.Take(3), plan.Select(p => p.Settings.LearningRate));
    }

    [Fact]
    public void Plan_Auxiliary_RoundRobinInRoundOneOnlyUnlessAMemberNamesOne()
    {
        var spec = Spec(new MembersSpec { Count = 5, Explicit = [new(), new(), new() { Auxiliary = "b" }, new(), new()] }) with
        {
            Auxiliary = [new AuxiliarySpec { Name = "a" }, new AuxiliarySpec { Name = "b" }],
        };

        Assert.Equal(["a", "b", "b", "b", "a"], MemberPlanner.Plan(spec, 1).Select(p => p.Auxiliary));
        Assert.All(MemberPlanner.Plan(spec, 2), p => Assert.Null(p.Auxiliary));
    }
}
