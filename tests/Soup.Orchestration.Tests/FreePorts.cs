using System.Net;
using System.Net.Sockets;

namespace Soup.Orchestration.Tests;

/// <summary>
/// A loopback port the OS reports free (shared by the test projects that host servers: the Durable test hosts, whose
/// own default draws one at random from 30000-40000 and collided between parallel test classes, and private Azurites).
/// </summary>
internal static class FreePorts
{
    public static int Next()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
