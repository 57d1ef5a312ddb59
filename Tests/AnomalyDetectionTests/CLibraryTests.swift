import Testing
@testable import AnomalyDetection

/// These call into libpq and hiredis, so they fail if either does not build or link.
@Suite("C libraries")
struct CLibraryTests {
    @Test func libpqReportsItsVersionAndThreadSafety() {
        #expect(PostgresClientLibrary.version >= 100_000)
        #expect(PostgresClientLibrary.isThreadSafe)
    }

    @Test func libpqParsesConnectionURLs() throws {
        let options = try PostgresClientLibrary.parseConnectionString("postgresql://anomaly:secret@db.local:5433/anomalies?connect_timeout=3")
        #expect(options["host"] == "db.local")
        #expect(options["port"] == "5433")
        #expect(options["dbname"] == "anomalies")
        #expect(options["user"] == "anomaly")
        #expect(options["connect_timeout"] == "3")
    }

    @Test func libpqRejectsBadConnectionStrings() {
        #expect(throws: PostgresConfigurationError.self) {
            try PostgresClientLibrary.parseConnectionString("postgresql://host/db?nonsense_option=1")
        }
        #expect(throws: PostgresConfigurationError.self) {
            try PostgresClientLibrary.parseConnectionString("host='unterminated")
        }
    }

    @Test func hiredisEncodesCommandsAsRESP() {
        let command = RedisCommand(["SET", "model:temp", "{\"mean\":1}"])
        #expect(String(decoding: command.encoded, as: UTF8.self) == "*3\r\n$3\r\nSET\r\n$10\r\nmodel:temp\r\n$10\r\n{\"mean\":1}\r\n")
        let binary = RedisCommand(["GET", "caf\u{e9}", ""])
        #expect(String(decoding: binary.encoded, as: UTF8.self) == "*3\r\n$3\r\nGET\r\n$5\r\ncaf\u{e9}\r\n$0\r\n\r\n")
        #expect(RedisCommand.libraryVersion.split(separator: ".").count == 3)
    }
}
