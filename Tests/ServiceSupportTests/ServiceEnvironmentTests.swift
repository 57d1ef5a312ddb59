import HTTPServer
import Testing
@testable import ServiceSupport

@Suite("Service configuration")
struct ServiceEnvironmentTests {
    private func options(_ arguments: [String]) throws -> ServiceOptions {
        try ServiceOptions.parse(arguments)
    }

    @Test func defaultsApplyWhenNothingIsSet() throws {
        let configuration = try ServiceEnvironment([:]).serverConfiguration(service: "training", defaultPort: 8000, options: options([]))
        #expect(configuration.port == 8000)
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.loopThreads == ServerConfiguration.availableCPUs)
        #expect(configuration.limits.maxBodyBytes == 64 << 20)
        #expect(configuration.shutdownGracePeriod == .seconds(10))
    }

    @Test func environmentOverridesDefaultsAndFlagsOverrideEnvironment() throws {
        let environment = ServiceEnvironment([
            "INFERENCE_PORT": "9001", "HOST": "0.0.0.0", "HTTP_THREADS": "3", "HTTP_HEADER_TIMEOUT_SECONDS": "1.5",
            "HTTP_MAX_BODY_BYTES": "1024", "SHUTDOWN_GRACE_SECONDS": "2",
        ])
        let fromEnvironment = try environment.serverConfiguration(service: "inference", defaultPort: 8001, options: options([]))
        #expect(fromEnvironment.port == 9001)
        #expect(fromEnvironment.host == "0.0.0.0")
        #expect(fromEnvironment.loopThreads == 3)
        #expect(fromEnvironment.timeouts.headerRead == .milliseconds(1500))
        #expect(fromEnvironment.limits.maxBodyBytes == 1024)
        #expect(fromEnvironment.shutdownGracePeriod == .seconds(2))
        let fromFlags = try environment.serverConfiguration(service: "inference", defaultPort: 8001, options: options(["--port", "7001", "--threads", "1", "--host", "::1"]))
        #expect(fromFlags.port == 7001)
        #expect(fromFlags.loopThreads == 1)
        #expect(fromFlags.host == "::1")
    }

    @Test("Bad values name their variable", arguments: [
        ("TRAINING_PORT", "eighty"), ("TRAINING_PORT", "70000"), ("HTTP_THREADS", "0"),
        ("HTTP_HEADER_TIMEOUT_SECONDS", "-1"), ("HTTP_MAX_CONNECTIONS", "lots"), ("SHUTDOWN_GRACE_SECONDS", "nan"),
    ])
    func badValuesNameTheirVariable(variable: String, value: String) throws {
        do {
            _ = try ServiceEnvironment([variable: value]).serverConfiguration(service: "training", defaultPort: 8000, options: options([]))
            Issue.record("\(variable)=\(value) was accepted")
        } catch let error as ConfigurationError {
            #expect(error.variable == variable)
            #expect(error.description.contains(variable) && error.description.contains(value))
        }
    }

    @Test func logLevelIsReadFromLOG_LEVEL() throws {
        #expect(try ServiceEnvironment(["LOG_LEVEL": "DEBUG"]).logLevel() == .debug)
        #expect(try ServiceEnvironment([:]).logLevel() == .info)
        #expect(throws: ConfigurationError.self) { try ServiceEnvironment(["LOG_LEVEL": "loud"]).logLevel() }
    }
}
