import AnomalyDetection
import HTTPServer

/// `GET /models` (series with their latest model, paginated) and `GET /models/{series_id}` (every version).
public enum ModelRoutes {
    public static func add(to router: inout Router, backend: AnomalyBackend) {
        router.get("/models") { request in
            let limit = try request.integerQuery("limit", default: 100, in: 1...1_000)
            let offset = try request.integerQuery("offset", default: 0, in: 0...100_000_000)
            let page: (series: [SeriesSummary], total: Int)
            do {
                page = try backend.store.listSeries(limit: limit, offset: offset)
            } catch {
                throw HTTPError.unavailable("Postgres", error)
            }
            return try .json(ModelListBody(
                series: page.series.map { .init(series_id: $0.seriesID, latest_version: $0.latest.modelVersion.description, created_at: $0.createdAt, latest: ModelVersionBody($0.latest)) },
                total: page.total, limit: limit, offset: offset
            ))
        }
        router.get("/models/:series_id") { request in
            let seriesID = try request.seriesID()
            let versions: [StoredModel]
            do {
                versions = try backend.store.versions(of: seriesID.rawValue)
            } catch {
                throw HTTPError.unavailable("Postgres", error)
            }
            guard let latest = versions.last else { throw HTTPError.notFound("no model trained for series '\(seriesID)'") }
            return try .json(ModelDetailBody(series_id: seriesID.rawValue, latest_version: latest.modelVersion.description, versions: versions.map(ModelVersionBody.init)))
        }
    }
}
