import AnomalyDetection
import HTTPServer

/// `POST /fit/{series_id}`: validate, fit, commit in Postgres, publish to Redis, then answer.
public enum FitRoutes {
    public static func add(to router: inout Router, backend: AnomalyBackend) {
        router.post("/fit/:series_id") { request in
            let started = MonotonicClock.nanoseconds
            let seriesID = try request.seriesID()
            let body = try request.decodeJSON(FitRequest.self)
            let model: ThreeSigmaModel
            let series: TrainingSeries
            do {
                series = try TrainingSeries(timestamps: body.timestamps, values: body.values, minimumPoints: backend.configuration.minimumTrainingPoints)
                model = try ThreeSigmaModel.fit(series, threshold: body.threshold ?? ThreeSigmaModel.defaultThreshold, direction: body.direction ?? .both)
            } catch let error as ValidationError {
                throw HTTPError(validation: error)
            }
            let stored: StoredModel
            do {
                stored = try backend.store.save(seriesID: seriesID, model: model, data: series)
            } catch {
                backend.metrics.fitFailures.increment()
                throw HTTPError.unavailable("Postgres", error)
            }
            backend.resolver.remember(stored)
            backend.publish(stored)
            backend.metrics.fits.increment()
            let microseconds = (MonotonicClock.nanoseconds - started) / 1000
            backend.latency.record(.training, microseconds: microseconds)
            backend.fitStatistics.add(latencyMicroseconds: Double(microseconds))
            return try .json(FitResponse(stored))
        }
    }
}
