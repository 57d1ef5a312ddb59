/// Decoding helpers shared by the request bodies: numbers that must be finite, arrays element by element.
extension KeyedDecodingContainer {
    /// A number field. One outside a double's range (`1e999`) is the field's mistake, a 422 naming it, as the
    /// contract has a non-finite value; Foundation throws its own parse error there, which `JSONDecoder` would
    /// report as a malformed document (a 400). A malformed literal (`01`, `1.e5`) stays a malformed document,
    /// and the decoding errors (a string, null, ...) keep their meaning.
    func decodeFiniteNumber(forKey key: Key) throws -> Double {
        do {
            return try decode(Double.self, forKey: key)
        } catch where Self.isOutOfRange(error) {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "must be a finite number")
        }
    }

    /// Whether Foundation's error while reading a number says that the literal is well formed but no double or
    /// integer holds it. Its error type is internal, so this reads its case name; should that ever change, the
    /// number is reported as a malformed document (a 400), which is what it was before.
    static func isOutOfRange(_ error: any Error) -> Bool {
        !(error is DecodingError) && String(describing: error).hasPrefix("numberIsNotRepresentable")
    }

    /// The same for an optional field (absent or null: nil).
    func decodeFiniteNumberIfPresent(forKey key: Key) throws -> Double? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeFiniteNumber(forKey: key)
    }

    /// Decodes an array element by element with the concrete (non-generic) decode calls, which is about
    /// twice as fast as `[T].self` for a million points. A bad element (a string, 1.5 as an integer, 1e999) is
    /// reported at its index; Foundation reports some of those as a whole-document error, which would wrongly
    /// be a 400. A malformed literal (`01`) stays a malformed document.
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
            } catch where error is DecodingError || Self.isOutOfRange(error) {
                throw DecodingError.dataCorrupted(DecodingError.Context(
                    codingPath: [key, IndexKey(index)],
                    debugDescription: "must be \(expected)"
                ))
            }
        }
        return result
    }
}
