using System.Collections.Immutable;
using System.Security.Claims;
using System.Text;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;

namespace Soup.Functions.Tests;

/// <summary>An HTTP request as the isolated worker hands it to a function, holding a body.</summary>
internal sealed class FakeHttpRequest(string body, string url = "http://localhost:7071/api/pipelines", string method = "POST", IServiceProvider? services = null)
    : HttpRequestData(new FakeFunctionContext(services))
{
    public override Stream Body { get; } = new MemoryStream(Encoding.UTF8.GetBytes(body));

    public override HttpHeadersCollection Headers { get; } = [];

    public override IReadOnlyCollection<IHttpCookie> Cookies { get; } = [];

    public override Uri Url { get; } = new(url);

    public override IEnumerable<ClaimsIdentity> Identities { get; } = [];

    public override string Method => method;

    public override HttpResponseData CreateResponse() => new FakeHttpResponse(FunctionContext);
}

/// <summary>The response a function writes.</summary>
internal sealed class FakeHttpResponse(FunctionContext context) : HttpResponseData(context)
{
    public override System.Net.HttpStatusCode StatusCode { get; set; }

    public override HttpHeadersCollection Headers { get; set; } = [];

    public override Stream Body { get; set; } = new MemoryStream();

    public override HttpCookies Cookies => throw new NotSupportedException();

    public string ReadBody() => Encoding.UTF8.GetString(((MemoryStream)Body).ToArray());
}

/// <summary>A function context holding only the services (none unless given) the HTTP functions resolve.</summary>
internal sealed class FakeFunctionContext(IServiceProvider? services = null, IReadOnlyDictionary<string, object?>? bindingData = null) : FunctionContext
{
    public override string InvocationId => "test";

    public override string FunctionId => "test";

    public override TraceContext TraceContext => throw new NotSupportedException();

    public override BindingContext BindingContext => bindingData is null ? throw new NotSupportedException() : new FakeBindingContext(bindingData);

    public override RetryContext RetryContext => throw new NotSupportedException();

    public override IServiceProvider InstanceServices { get; set; } = services ?? new EmptyServices();

    public override FunctionDefinition FunctionDefinition => throw new NotSupportedException();

    public override IDictionary<object, object> Items { get; set; } = new Dictionary<object, object>();

    public override IInvocationFeatures Features => throw new NotSupportedException();

    private sealed class FakeBindingContext(IReadOnlyDictionary<string, object?> data) : BindingContext
    {
        public override IReadOnlyDictionary<string, object?> BindingData => data;
    }

    private sealed class EmptyServices : IServiceProvider
    {
        public object? GetService(Type serviceType) => null;
    }
}
