import AnomalyDetection

/// The body of `POST /fit/{series_id}`.
struct FitRequest: Decodable {
    var timestamps: [Int64]
    var values: [Double]
    var threshold: Double?
    var direction: Direction?

    private enum CodingKeys: String, CodingKey {
        case timestamps, values, threshold, direction
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        timestamps = try container.decodeArray(of: Int64.self, forKey: .timestamps, expected: "an integer unix timestamp") { try $0.decode(Int64.self) }
        values = try container.decodeArray(of: Double.self, forKey: .values, expected: "a finite number") { try $0.decode(Double.self) }
        threshold = try container.decodeFiniteNumberIfPresent(forKey: .threshold)
        direction = try container.decodeIfPresent(Direction.self, forKey: .direction)
    }
}

/// An array position in a coding path, so that errors name `values[2]`.
struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }

    init(_ index: Int) {
        intValue = index
    }

    init?(stringValue: String) {
        return nil
    }

    init?(intValue: Int) {
        self.intValue = intValue
    }
}

/// The answer to a fit.
struct FitResponse: Encodable {
    var series_id: String
    var version: String
    var points_used: Int
    var mean: Double
    var std: Double
    var threshold: Double
    var direction: Direction
    var trained_at: String

    init(_ stored: StoredModel) {
        series_id = stored.seriesID
        version = stored.modelVersion.description
        points_used = stored.model.pointsUsed
        mean = stored.model.mean
        std = stored.model.std
        threshold = stored.model.threshold
        direction = stored.model.direction
        trained_at = stored.trainedAt
    }
}

extension KeyedDecodingContainer {
    /// A number field. One outside a double's range (`1e999`) is the field's mistake, a 422 naming it, as the
    /// contract has a non-finite value. Foundation throws its own parse error there, which `JSONDecoder` would
    /// report as a malformed document (a 400); the decoding errors (a string, null, ...) keep their meaning.
    func decodeFiniteNumber(forKey key: Key) throws -> Double {
        do {
            return try decode(Double.self, forKey: key)
        } catch let error as DecodingError {
            throw error
        } catch {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "must be a finite number")
        }
    }

    /// The same for an optional field (absent or null: nil).
    func decodeFiniteNumberIfPresent(forKey key: Key) throws -> Double? {
        do {
            return try decodeIfPresent(Double.self, forKey: key)
        } catch let error as DecodingError {
            throw error
        } catch {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "must be a finite number")
        }
    }

    /// Decodes an array element by element with the concrete (non-generic) decode calls, which is about
    /// twice as fast as `[T].self` for a million points. A bad element is reported at its index: Foundation
    /// reports some (1.5 as an integer, 1e999) as a whole-document error, which would wrongly be a 400.
    func decodeArray<Element>(
        of type: Element.Type,
        forKey key: Key,
        expected: String,
        element: (inout any UnkeyedDecodingContainer) throws -> Element
    ) throws -> [Element] {
        var unkeyed: any UnkeyedDecodingContainer = try nestedUnkeyedContainer(forKey: key)
        var result: [Element] = []
        result.reserveCapacity(unkeyed.count ?? 0)
        while !unkeyed.isAtEnd {
            let index = unkeyed.currentIndex
            do {
                result.append(try element(&unkeyed))
            } catch {
                throw DecodingError.dataCorrupted(DecodingError.Context(
                    codingPath: [key, IndexKey(index)],
                    debugDescription: "must be \(expected)"
                ))
            }
        }
        return result
    }
}
