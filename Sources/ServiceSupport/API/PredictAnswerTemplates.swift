import AnomalyDetection
import Synchronization

/// The latest `PredictAnswerTemplate` used for each series, so that a model version's part of the answer is
/// written once, not per predict. Bounded: past `capacity` series it starts over.
final class PredictAnswerTemplates: Sendable {
    static let capacity = 10_000

    private let templates = Mutex<[String: PredictAnswerTemplate]>([:])

    func template(for stored: StoredModel) -> PredictAnswerTemplate {
        if let known = templates.withLock({ $0[stored.seriesID] }), known.version == stored.version {
            return known
        }
        let template = PredictAnswerTemplate(stored)
        templates.withLock { templates in
            if templates.count >= Self.capacity, templates[stored.seriesID] == nil { templates.removeAll(keepingCapacity: true) }
            templates[stored.seriesID] = template
        }
        return template
    }

    var count: Int { templates.withLock { $0.count } }
}
