import Testing
@testable import anomaly_loadtest

@Suite("Anomaly flag scanner")
struct AnomalyFlagScannerTests {
    @Test("finds \"anomaly\": true only as a key with the literal true", arguments: [
        (#"{"anomaly":true,"model_version":"v1"}"#, true),
        (#"{"model_version": "v1", "anomaly" : true}"#, true),
        (#"{"anomalyx":1,"anomaly":true}"#, true),
        (#"{"anomaly":false}"#, false),
        (#"{"body":"{\"anomaly\":true}"}"#, false),
        (#"{"anomaly""#, false),
        ("", false),
    ])
    func scan(_ body: String, expected: Bool) {
        #expect(AnomalyFlagScanner.containsTrueFlag(Array(body.utf8)) == expected)
    }
}
