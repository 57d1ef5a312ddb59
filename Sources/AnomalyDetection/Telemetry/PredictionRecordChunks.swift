/// Records kept as the arrays they were taken from the buffer in, so that carrying a pass's records into the open
/// write, and the write's into those committed, adds one reference instead of copying every record (a record
/// holds a `String`, so each copy and each destroy is a call per record). Iterates in the order appended.
struct PredictionRecordChunks: Sequence, Sendable {
    private var chunks: [[PredictionRecord]] = []
    /// How many records, over all chunks.
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    init() {}

    init(_ records: [PredictionRecord]) {
        append(records)
    }

    mutating func append(_ records: [PredictionRecord]) {
        guard !records.isEmpty else { return }
        chunks.append(records)
        count += records.count
    }

    mutating func append(contentsOf other: PredictionRecordChunks) {
        for chunk in other.chunks { append(chunk) }
    }

    /// The records as one array: for the rare paths that put records back in front of the buffer.
    var array: [PredictionRecord] {
        chunks.count == 1 ? chunks[0] : Array(chunks.joined())
    }

    func makeIterator() -> FlattenSequence<[[PredictionRecord]]>.Iterator {
        chunks.joined().makeIterator()
    }
}
