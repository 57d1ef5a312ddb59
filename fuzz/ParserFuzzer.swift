// libFuzzer entry point for the HTTP request parser, built by `make test-fuzz` with
// `-sanitize=fuzzer,address` from the parser's own source files.
//
// Beyond "no crash, no hang", it checks a differential property: the input parsed in one piece
// and parsed in pieces (split sizes taken from the input) must give the same requests and the same
// failure. A disagreement is a bug in the incremental state machine, and aborts.

/// What an event is, independent of how the bytes were split (100-continue depends on the split).
private enum Outcome: Equatable {
    case request(method: String, target: String, headers: [HTTPField], body: [UInt8])
    case failure(Int)
}

private func outcomes(_ bytes: UnsafeBufferPointer<UInt8>, splits: [Int]) -> [Outcome] {
    var parser = RequestParser(limits: RequestLimits(maxTargetLength: 512, maxHeaderSectionBytes: 2048, maxHeaderCount: 20, maxBodyBytes: 4096))
    var result: [Outcome] = []
    var offset = 0
    var splitIndex = 0
    while offset < bytes.count {
        let step = splits.isEmpty ? bytes.count : max(1, splits[splitIndex % splits.count])
        splitIndex += 1
        let end = min(bytes.count, offset + step)
        parser.append(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[offset..<end])))
        offset = end
        while let event = parser.next() {
            switch event {
            case .request(let request):
                result.append(.request(method: request.method.rawValue, target: request.target, headers: request.headers.fields, body: request.body))
                _ = request.query
                _ = request.wantsKeepAlive
                _ = PercentDecoding.decode(request.path)
            case .failure(let error):
                result.append(.failure(error.status.code))
            case .continueExpected:
                break
            }
        }
    }
    return result
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let whole = outcomes(bytes, splits: [])
    let splits = bytes.prefix(4).map { Int($0 % 17) + 1 }
    let pieces = outcomes(bytes, splits: splits.isEmpty ? [1] : splits)
    let single = outcomes(bytes, splits: [1])
    if whole != pieces || whole != single {
        fatalError("split parsing disagrees: whole=\(whole) pieces=\(pieces) single=\(single)")
    }
    return 0
}
