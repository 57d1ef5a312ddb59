import AnomalyDetection
import Foundation
import Testing
@testable import ServiceSupport

@Suite("Backend configuration")
struct BackendConfigurationTests {
    @Test func defaultsPointAtTheProjectLocalServers() throws {
        let configuration = try ServiceEnvironment([:]).backendConfiguration()
        #expect(configuration.databaseURL == BackendConfiguration.defaultDatabaseURL)
        #expect(configuration.redis == BackendConfiguration.defaultRedis)
        #expect(configuration.databasePoolSize == 8)
        #expect(configuration.minimumTrainingPoints == 3)
        #expect(configuration.environment == "development")
        #expect(configuration.predictionRetentionHours == 168)
        #expect(configuration.predictionPruneInterval == .seconds(60))
    }

    @Test func predictionLogRetention() throws {
        let configuration = try ServiceEnvironment(["PREDICTION_LOG_RETENTION_HOURS": "2", "PREDICTION_LOG_PRUNE_INTERVAL_SECONDS": "0.5"]).backendConfiguration()
        #expect(configuration.predictionRetentionHours == 2)
        #expect(configuration.predictionPruneInterval == .milliseconds(500))
        // 0 keeps everything.
        #expect(try ServiceEnvironment(["PREDICTION_LOG_RETENTION_HOURS": "0"]).backendConfiguration().predictionRetentionHours == 0)
    }

    @Test func redisFromURLOrHostAndPort() throws {
        #expect(try ServiceEnvironment(["REDIS_URL": "redis://cache:7000/1"]).backendConfiguration().redis == RedisEndpoint(host: "cache", port: 7000, database: 1))
        #expect(try ServiceEnvironment(["REDIS_HOST": "r", "REDIS_PORT": "6390"]).backendConfiguration().redis == RedisEndpoint(host: "r", port: 6390))
        for host in ["redis", "cache-1.internal", "10.0.0.7", "::1", "fe80::1"] {
            #expect(try ServiceEnvironment(["REDIS_HOST": host]).backendConfiguration().redis.host == host)
        }
    }

    @Test("Bad values name their variable", arguments: [
        ("DATABASE_URL", "host=db port"), ("REDIS_URL", "http://cache"), ("REDIS_PORT", "0"),
        ("DB_POOL_SIZE", "0"), ("MIN_TRAINING_POINTS", "1"), ("ENVIRONMENT", "staging"),
        ("PREDICTION_LOG_RETENTION_HOURS", "-1"), ("PREDICTION_LOG_RETENTION_HOURS", "7d"),
        ("PREDICTION_LOG_PRUNE_INTERVAL_SECONDS", "0"), ("REDIS_HOST", "localhost:6379"), ("REDIS_HOST", "redis://cache"),
        ("REDIS_HOST", "cache 2"), ("REDIS_HOST", "127.0.0.1:6379"), ("REDIS_HOST", "db:6379"), ("REDIS_HOST", "cafe:6379"),
    ])
    func badValuesNameTheirVariable(variable: String, value: String) {
        do {
            _ = try ServiceEnvironment([variable: value]).backendConfiguration()
            Issue.record("\(variable)=\(value) accepted")
        } catch let error as ConfigurationError {
            #expect(error.variable == variable)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func passwordsAreRedactedInMessages() {
        #expect(ServiceEnvironment.redacted("postgresql://user:secret@db:5432/x") == "postgresql://user:***@db:5432/x")
        #expect(ServiceEnvironment.redacted("redis://:secret@cache") == "redis://:***@cache")
        #expect(ServiceEnvironment.redacted("postgresql://db/x") == "postgresql://db/x")
    }

    @Test func dotEnvFiles() {
        let parsed = DotEnvFile.parse("""
            # comment
            export A=1
            B = "two words"
            C='x#y'
            D=plain # trailing comment

            not a line
            """)
        #expect(parsed == ["A": "1", "B": "two words", "C": "x#y", "D": "plain"])
    }

    @Test func theProcessEnvironmentWinsOverTheDotEnvFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dotenv-\(UUID().uuidString)").path
        try "DB_POOL_SIZE=3\nENVIRONMENT=test\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let merged = DotEnvFile.merged(processEnvironment: ["DB_POOL_SIZE": "5"], path: path)
        #expect(merged["DB_POOL_SIZE"] == "5")
        #expect(merged["ENVIRONMENT"] == "test")
        #expect(DotEnvFile.merged(processEnvironment: ["A": "1"], path: path + ".missing") == ["A": "1"])
    }
}
