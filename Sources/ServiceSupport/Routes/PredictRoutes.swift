import AnomalyDetection
import HTTPServer

/// `POST /predict/{series_id}[?version=]` and its batch form. A model in memory is answered on the event
/// loop with no I/O; anything else (first sight of a series, subscription down) goes to the blocking pool.
public enum PredictRoutes {
    public static func add(to router: inout Router, backend: AnomalyBackend) {
        let predictor = Predictor(backend: backend)
        // One read of the model-update subscription per round of reads, instead of one per predict.
        router.afterEachRoundOfReads { backend.resolver.takeAnnouncements() }
        router.add(.post, "/predict/:series_id", execution: .inlineFirst(fastPath: { try predictor.predictFromMemory($0) })) {
            try predictor.predict($0)
        }
        router.post("/predict/:series_id/batch") { try predictor.predictBatch($0) }
    }
}

/// The predict handlers, apart from the routing.
struct Predictor: Sendable {
    let backend: AnomalyBackend
    let templates = PredictAnswerTemplates()

    /// Answers from memory, or returns nil when the model needs a lookup.
    func predictFromMemory(_ request: HTTPRequest) throws -> HTTPResponse? {
        let started = MonotonicClock.nanoseconds
        let (seriesID, version, body) = try inputs(request)
        switch backend.resolver.fromMemory(seriesID: seriesID.rawValue, version: version?.number, receivedAt: request.receivedAt) {
        case .found(let model):
            backend.metrics.lookupsMemory.increment()
            return try answer(model, body, started: started)
        case .missing:
            throw HTTPError.notFound("no model trained for series '\(seriesID)'")
        case .unknown:
            return nil
        }
    }

    /// Answers after looking the model up in Redis or Postgres as needed.
    func predict(_ request: HTTPRequest) throws -> HTTPResponse {
        let started = MonotonicClock.nanoseconds
        let (seriesID, version, body) = try inputs(request)
        let model = try lookUp(seriesID, version)
        return try answer(model, body, started: started)
    }

    func predictBatch(_ request: HTTPRequest) throws -> HTTPResponse {
        let started = MonotonicClock.nanoseconds
        let seriesID = try request.seriesID()
        let version = try request.pinnedVersion()
        let body = try request.decodeJSON(BatchPredictRequest.self)
        guard body.timestamps.count == body.values.count else {
            throw HTTPError(.unprocessableContent, code: "validation_error", message: "timestamps has \(body.timestamps.count) items but values has \(body.values.count); they must have the same length", field: "values")
        }
        if let index = body.values.firstIndex(where: { !$0.isFinite }) {
            throw HTTPError(.unprocessableContent, code: "validation_error", message: "values[\(index)] is not a finite number", field: "values[\(index)]")
        }
        if let index = body.timestamps.firstIndex(where: { $0 < 0 }) {
            throw HTTPError(.unprocessableContent, code: "validation_error", message: "timestamps[\(index)] is not a unix timestamp", field: "timestamps[\(index)]")
        }
        let stored = try lookUp(seriesID, version)
        let predictions = stored.model.predict(body.values)
        let elapsed = MonotonicClock.nanoseconds - started
        let perPoint = Float(elapsed / 1000) / Float(max(1, predictions.count))
        if backend.configuration.recordPredictions {
            backend.recorder.record(zip(body.timestamps, zip(body.values, predictions)).map { timestamp, pair in
                PredictionRecord(seriesID: stored.seriesID, version: stored.version, timestamp: timestamp, value: pair.0, anomaly: pair.1.anomaly, zScore: pair.1.zScore, latencyMicroseconds: perPoint)
            })
        }
        let anomalies = predictions.map(\.anomaly)
        let anomalyCount = anomalies.filter { $0 }.count
        backend.metrics.predictionsAnomalous.increment(by: Int64(anomalyCount))
        backend.metrics.predictionsNormal.increment(by: Int64(predictions.count - anomalyCount))
        backend.latency.record(.inference, microseconds: elapsed / 1000)
        return try .json(BatchPredictResponse(
            model_version: stored.modelVersion.description, series_id: stored.seriesID,
            anomalies: anomalies, z_scores: predictions.map(\.zScore), anomaly_count: anomalyCount
        ))
    }

    private func inputs(_ request: HTTPRequest) throws -> (SeriesID, ModelVersion?, PredictRequest) {
        let seriesID = try request.seriesID()
        let version = try request.pinnedVersion()
        let body = try request.decodeJSON(PredictRequest.self)
        guard body.value.isFinite else {
            throw HTTPError(.unprocessableContent, code: "validation_error", message: "value must be a finite number", field: "value")
        }
        return (seriesID, version, body)
    }

    private func lookUp(_ seriesID: SeriesID, _ version: ModelVersion?) throws -> StoredModel {
        let found: (model: StoredModel, source: ModelResolver.Source)?
        do {
            found = try backend.resolver.model(seriesID: seriesID.rawValue, version: version?.number)
        } catch {
            throw HTTPError.unavailable("the model store", error)
        }
        guard let (model, source) = found else {
            if let version {
                throw HTTPError.notFound("series '\(seriesID)' has no model version \(version)")
            }
            throw HTTPError.notFound("no model trained for series '\(seriesID)'")
        }
        switch source {
        case .memory: backend.metrics.lookupsMemory.increment()
        case .redis: backend.metrics.lookupsRedis.increment()
        case .postgres: backend.metrics.lookupsPostgres.increment()
        }
        return model
    }

    private func answer(_ stored: StoredModel, _ body: PredictRequest, started: UInt64) throws -> HTTPResponse {
        let prediction = stored.model.predict(body.value)
        let response = HTTPResponse.rawJSON(templates.template(for: stored).body(
            anomaly: prediction.anomaly, timestamp: body.timestamp, value: body.value, zScore: prediction.zScore
        ))
        let microseconds = (MonotonicClock.nanoseconds - started) / 1000
        backend.latency.record(.inference, microseconds: microseconds)
        if backend.configuration.recordPredictions {
            backend.recorder.record(PredictionRecord(
                seriesID: stored.seriesID, version: stored.version, timestamp: body.timestamp, value: body.value,
                anomaly: prediction.anomaly, zScore: prediction.zScore, latencyMicroseconds: Float(microseconds)
            ))
        }
        (prediction.anomaly ? backend.metrics.predictionsAnomalous : backend.metrics.predictionsNormal).increment()
        return response
    }
}
