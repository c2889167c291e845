using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Soup.Orchestration;

namespace Soup.Reports;

/// <summary>Registers the report renderer the orchestration's report activity and the API's report route use.</summary>
public static class ReportServiceCollectionExtensions
{
    /// <summary>Adds <see cref="PipelineReportRenderer"/> as the <see cref="IPipelineReportRenderer"/>.</summary>
    public static IServiceCollection AddSoupReports(this IServiceCollection services)
    {
        services.TryAddSingleton<PipelineReportRenderer>();
        services.TryAddSingleton<IPipelineReportRenderer>(s => s.GetRequiredService<PipelineReportRenderer>());
        return services;
    }
}
