import AnomalyDetection
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
    }

    @Test func redisFromURLOrHostAndPort() throws {
        #expect(try ServiceEnvironment(["REDIS_URL": "redis://cache:7000/1"]).backendConfiguration().redis == RedisEndpoint(host: "cache", port: 7000, database: 1))
        #expect(try ServiceEnvironment(["REDIS_HOST": "r", "REDIS_PORT": "6390"]).backendConfiguration().redis == RedisEndpoint(host: "r", port: 6390))
    }

    @Test("Bad values name their variable", arguments: [
        ("DATABASE_URL", "host=db port"), ("REDIS_URL", "http://cache"), ("REDIS_PORT", "0"),
        ("DB_POOL_SIZE", "0"), ("MIN_TRAINING_POINTS", "1"), ("ENVIRONMENT", "staging"),
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
}
