package clickhousetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
)

// Server is a clickhouse-server of one test's own, which the test may stop and start
// again, to see what flowmeter does while its store goes away and comes back. Its
// port and data directory stay the same across restarts, as a production server's
// do. It is safe for concurrent use.
type Server struct {
	mu      sync.Mutex
	srv     *server
	running bool
}

// NewServer starts a dedicated server for t on a free loopback port, and stops and
// removes it when t ends. It needs clickhouse-server on PATH, even when
// FLOWMETER_TEST_CLICKHOUSE_ADDR names a server, since that one is not the test's
// to stop; without it, t is skipped, or failed when FLOWMETER_TEST_REQUIRE_CLICKHOUSE=1.
func NewServer(t testing.TB) *Server {
	t.Helper()
	bin := binary(t, "a test that restarts the server needs clickhouse-server on PATH")
	srv, err := startServer(bin, stablePort)
	if err != nil {
		t.Fatalf("clickhousetest: %v", err)
	}
	s := &Server{srv: srv, running: true}
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.running {
			s.srv.halt()
		}
		os.RemoveAll(s.srv.dir)
	})
	return s
}

// Addr is the server's native-protocol address, the same across restarts.
func (s *Server) Addr() string { return s.srv.addr }

// Stop shuts the server down as its service manager would (SIGTERM, then SIGKILL
// after 15 s) and returns once it has exited; its data stays for Start.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return errors.New("clickhousetest: Stop of a stopped server")
	}
	s.srv.halt()
	s.running = false
	return nil
}

// Start starts the stopped server again on the same port and data, and returns once
// it answers.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return errors.New("clickhousetest: Start of a running server")
	}
	if err := s.srv.launch(); err != nil {
		return fmt.Errorf("clickhousetest: restart: %w", err)
	}
	s.running = true
	return nil
}

// stablePort picks a free port below the kernel's range of ephemeral ports. A port
// from that range could be handed to an outgoing connection while the server is
// stopped, and the server would then fail to bind it again.
func stablePort() (int, error) {
	low := 32768 // Linux's default start of the ephemeral range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		fmt.Sscan(string(b), &low)
	}
	const from = 10000
	if low <= from+1000 {
		return freePort()
	}
	for range 100 {
		port := from + rand.IntN(low-from)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			l.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free port below the ephemeral range")
}
