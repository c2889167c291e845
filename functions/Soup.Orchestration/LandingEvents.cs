namespace Soup.Orchestration;

/// <summary>External event names: one per job slot, so each round's events are distinct.</summary>
public static class LandingEvents
{
    /// <summary>The event raised when the job in <paramref name="slot"/> lands.</summary>
    public static string Name(string slot) => "landed:" + slot;
}
