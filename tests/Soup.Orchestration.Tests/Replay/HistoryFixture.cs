using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using P = Microsoft.DurableTask.Protobuf;

namespace Soup.Orchestration.Tests.Replay;

/// <summary>
/// A recorded orchestration history: one instance's events as the Durable Task gRPC protocol carries them to a worker
/// (<c>HistoryEvent</c> messages, in Protobuf's JSON form), written by the recorder in Soup.EndToEnd.Tests
/// (<c>ReplayFixtureRecorder</c>, run by <c>scripts/record-replay-fixtures.sh</c>) and replayed by <see cref="HistoryReplayer"/>.
/// </summary>
/// <param name="Orchestrator">The orchestrator name the instance was started with (<see cref="TaskNames"/>).</param>
/// <param name="InstanceId">The instance's id.</param>
/// <param name="ExecutionId">The execution's id.</param>
/// <param name="State">What the instance was doing when its history was read (for people; not checked).</param>
/// <param name="History">The events, in order.</param>
public sealed record HistoryFixture(string Orchestrator, string InstanceId, string ExecutionId, string State, IReadOnlyList<P.HistoryEvent> History)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The folder the committed fixtures live in, copied next to the test assembly.</summary>
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "Replay", "Fixtures");

    /// <summary>Reads a fixture from <paramref name="path"/>.</summary>
    public static HistoryFixture Load(string path)
    {
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var history = root["history"]!.AsArray().Select(e => JsonParser.Default.Parse<P.HistoryEvent>(e!.ToJsonString())).ToList();
        return new HistoryFixture(
            (string)root["orchestrator"]!, (string)root["instanceId"]!, (string)root["executionId"]!, (string)root["state"]!, history);
    }

    /// <summary>Writes this fixture to <paramref name="path"/>, indented so that a re-recording reads as a diff.</summary>
    public void Save(string path)
    {
        var root = new JsonObject
        {
            ["orchestrator"] = Orchestrator,
            ["instanceId"] = InstanceId,
            ["executionId"] = ExecutionId,
            ["state"] = State,
            ["recordedBy"] = "scripts/record-replay-fixtures.sh (tests/Soup.EndToEnd.Tests/ReplayFixtureRecorder.cs)",
            ["history"] = new JsonArray([.. History.Select(e => JsonNode.Parse(JsonFormatter.Default.Format(e)))]),
        };
        File.WriteAllText(path, root.ToJsonString(Indented) + Environment.NewLine);
    }
}
