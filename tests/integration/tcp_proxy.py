"""A loopback TCP proxy that can stop forwarding without closing anything:
the peers' kernels keep acknowledging, so to them the connection looks
alive while nothing ever arrives. That is how a dead NAT entry or a hung
middlebox looks from the database client's side."""

import socket
import threading


class FreezableProxy:

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        # One event per connection: set means "forward".
        self._gates = []
        self._sockets = []
        self._stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            gate = threading.Event()
            gate.set()
            with self._lock:
                self._gates.append(gate)
                self._sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst, gate),
                                 daemon=True).start()

    @staticmethod
    def _pump(src, dst, gate):
        while True:
            gate.wait()
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
            gate.wait()
            try:
                dst.sendall(data)
            except OSError:
                return

    def freeze(self):
        """Existing connections stop forwarding; new ones work."""
        with self._lock:
            for gate in self._gates:
                gate.clear()
            frozen = len(self._gates)
            self._gates = []
        return frozen

    def stop(self):
        self._stopping = True
        self.listener.close()
        with self._lock:
            for s in self._sockets:
                try:
                    s.close()
                except OSError:
                    pass
