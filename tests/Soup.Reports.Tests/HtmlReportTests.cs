using Soup.Core.Jobs;
using System.Text.RegularExpressions;
using Soup.Orchestration;

namespace Soup.Reports.Tests;

public sealed class HtmlReportTests
{
    private static readonly PipelineReportRenderer Renderer = new();

    [Fact]
    public void RenderHtml_SameView_SamePageByteForByte()
    {
        Assert.Equal(Renderer.RenderHtml(SampleResults.Complete()), Renderer.RenderHtml(SampleResults.Complete()));
    }

    [Fact]
    public void RenderHtml_CompleteRun_SelfContained()
    {
        var html = Renderer.RenderHtml(SampleResults.Complete());

        Assert.DoesNotMatch(new Regex("<script|<link|@import|src=\"http|href=\"http|url\\(http", RegexOptions.IgnoreCase), html);
        Assert.Equal(6, Regex.Count(html, "<svg"));
        Assert.DoesNotContain("<?xml", html, StringComparison.Ordinal);
        // Every SVG id is unique in the page, so no plot clips another's drawing.
        var ids = Regex.Matches(html, "\\bid=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void RenderHtml_MarkupInPipelineText_IsEncodedEverywhere()
    {
        const string Evil = "<img src=x onerror=alert(1)>&\"'";
        var view = SampleResults.Complete("evil<script>");
        var round = view.Result!.Rounds[0] with
        {
            Split = "validation",
            Missing = [new MissingMember(9, Evil, Evil, 1)],
            Variants = [new SoupVariant(Evil, Evil, [0], [new SplitAccuracy("validation", 0.5, 1)], Evil)],
            Generation = [new GenerationScore(view.Result!.Rounds[0].Soup, [new RewardScore(Evil, 0.5)], 0.1, 5, [new GeneratedSample(Evil, Evil, [0.5])])],
        };
        view = view with
        {
            Failure = Evil,
            Result = view.Result with { Rounds = [round, .. view.Result.Rounds.Skip(1)], Recipe = Evil, Stopped = Evil },
        };

        var html = Renderer.RenderHtml(view);

        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#39;", html, StringComparison.Ordinal);
        Assert.Contains("<title>Pipeline evil&lt;script&gt; report</title>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderHtml_OlderRunWithPrimarySplitOnly_SaysWhatIsNotMeasured()
    {
        var html = Renderer.RenderHtml(SampleResults.Bare());

        Assert.Equal(1, Regex.Count(html, "<svg")); // only soup vs members: nothing else was measured
        Assert.Contains("needs scores on a validation (in-distribution) split and a test (out-of-distribution) split; the run has scores on &#39;test&#39; (test)", html, StringComparison.Ordinal);
        Assert.Contains("No λ sweep between rewards", html, StringComparison.Ordinal);
        Assert.Contains("No diversity measured in this run", html, StringComparison.Ordinal);
        Assert.Contains("No interpolation curve between two members in this run.", html, StringComparison.Ordinal);
        Assert.Contains("No soup variants", html, StringComparison.Ordinal);
        Assert.Contains("None: every member of every round landed.", html, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderHtml_EveryAccuracyOne_AccuracyAxisStaysWithinZeroAndOne()
    {
        var view = SampleResults.Bare();
        var result = view.Result!;
        view = view with
        {
            Result = result with
            {
                Rounds = [.. result.Rounds.Select(r => r with { SoupAccuracy = 1, Members = [.. r.Members.Select(m => m with { Accuracy = 1 })] })],
            },
        };

        var svg = Regex.Match(Renderer.RenderHtml(view), "<svg[\\s\\S]*?</svg>").Value;

        // Autoscaling around equal values would otherwise label the axis from 0 to 2.
        var ticks = Regex.Matches(svg, ">\\s*(-?[0-9.]+)\\s*</text>").Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Contains(1.0, ticks);
        Assert.DoesNotContain(ticks, t => t > 1.01 && t != 2); // the rounds axis has 1 and 2 only
        Assert.DoesNotContain(ticks, t => t < 0);
        Assert.Equal(1, ticks.Count(t => t == 2));
    }

    [Fact]
    public void RenderHtml_RunningPipeline_ShowsProgressAndJobsAndSaysRoundsArePending()
    {
        var html = Renderer.RenderHtml(SampleResults.Running());

        Assert.DoesNotContain("<svg", html, StringComparison.Ordinal);
        Assert.Contains("Pending: round results are reported when the pipeline completes (now training, round 2 of 3).", html, StringComparison.Ordinal);
        Assert.Contains("training, round 2 of 3: 1 landed, 0 failed, 3 pending", html, StringComparison.Ordinal);
        Assert.Contains("none yet: a checkpoint is chosen when the pipeline completes", html, StringComparison.Ordinal);
        Assert.Contains("<td>quickstart-20261127-run001/round-02/member-001</td><td>120 / 250</td>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderHtml_FailedPipelineWithoutRounds_SaysNoRoundCompletedAndWhy()
    {
        var view = new PipelineStatusView("p-failed", "Failed", SampleResults.Created, SampleResults.Created,
            new PipelineProgress("failed", 0, 2, 0, 1, 0, null, "init failed"), null, "PipelineFailedException: job p-failed/init failed: no data");

        var html = Renderer.RenderHtml(view);

        Assert.Contains("No round completed before the pipeline ended (Failed).", html, StringComparison.Ordinal);
        Assert.Contains("<td>none: the pipeline ended Failed before choosing one</td>", html, StringComparison.Ordinal);
        Assert.Contains("<td>the pipeline ended Failed after 0 completed round(s)</td>", html, StringComparison.Ordinal);
        Assert.Contains("<th scope=\"row\">failure</th><td>PipelineFailedException: job p-failed/init failed: no data</td>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderHtml_CompleteRun_HeaderNamesChoiceReasonRecipeAndStop()
    {
        var html = Renderer.RenderHtml(SampleResults.Complete());

        Assert.Contains("<th scope=\"row\">recipe</th><td>diwa</td>", html, StringComparison.Ordinal);
        Assert.Contains("diwa-20261127-abc123/round-03/soup/model.safetensors (round 3, ", html, StringComparison.Ordinal);
        Assert.Contains("<th scope=\"row\">why this one</th><td>best validation accuracy", html, StringComparison.Ordinal);
        Assert.Contains("<th scope=\"row\">stopped early</th><td>the soup gained less than 0.1 points", html, StringComparison.Ordinal);
    }
}
