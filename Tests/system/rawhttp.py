"""A minimal HTTP/1.1 response reader over a raw socket, for pipelining and malformed-input tests."""
import socket


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class RawClient:
    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by server")
        self.buffer += chunk

    def read_response(self, head_request=False) -> Response:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        assert version == "HTTP/1.1", lines[0]
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
        response = Response(int(status), reason, headers, b"")
        if head_request or response.status in (100, 204, 304):
            return response
        length = int(response.header("Content-Length"))
        while len(self.buffer) < length:
            self._fill()
        response.body, self.buffer = self.buffer[:length], self.buffer[length:]
        return response

    def is_closed_by_peer(self, timeout=3.0) -> bool:
        """True if the server closes (EOF or reset) within `timeout` with nothing more to read."""
        self.sock.settimeout(timeout)
        try:
            return self.buffer == b"" and self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()
