using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Soup.Orchestration;
using Soup.Reports;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddSoupPipeline(builder.Configuration);
builder.Services.AddSoupReports();
builder.Build().Run();
