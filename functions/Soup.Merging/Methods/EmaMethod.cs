namespace Soup.Merging.Methods;

/// <summary>
/// One step of an exponential moving average anchor, as WARP updates its reference model (Ramé et al. 2024, "WARP: On
/// the Benefits of Weight Averaged Rewarded Policies", arXiv:2406.16768): anchor ← (1−η)·anchor + η·θ, with the base as
/// the anchor and exactly 1 member θ, computed as base + η·(θ − base). Weights are not used. Elementwise.
/// </summary>
public sealed class EmaMethod : Engine.IMergeMethodF64
{
    private readonly double _eta;

    /// <summary>Creates the method.</summary>
    /// <param name="eta">η, the step from the anchor toward the member, in [0, 1].</param>
    public EmaMethod(double eta) => _eta = MethodGuards.Unit("eta", eta);

    /// <inheritdoc />
    public string Name => MergeMethods.Ema;

    /// <inheritdoc />
    public bool IsElementwise => true;

    /// <inheritdoc />
    public void Validate(int memberCount, bool hasBase)
    {
        MethodGuards.Exactly(Name, memberCount, 1);
        MethodGuards.NeedsBase(Name, hasBase);
    }

    /// <inheritdoc />
    public void Merge(MergeChunk chunk)
    {
        var baseValues = MethodGuards.Base(Name, chunk);
        MethodGuards.Exactly(Name, chunk.Members.Length, 1);
        TaskVectors.AddScaled(chunk, baseValues, [_eta]);
    }

    /// <inheritdoc />
    public void MergeF64(Engine.MergeChunkF64 chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        MethodGuards.Exactly(Name, chunk.Members.Length, 1);
        TaskVectors.AddScaled(chunk, MethodGuards.Base(Name, chunk), [_eta]);
    }
}
