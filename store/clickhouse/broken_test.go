package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
)

// A broken pooled connection is retried once; a query the server refused, or one
// whose context is done, is not.
func TestBrokenConnection(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	closed := fmt.Errorf("read: %w", &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed})
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{"use of closed network connection", context.Background(), closed, true},
		{"reset by peer", context.Background(), fmt.Errorf("x: %w", syscall.ECONNRESET), true},
		{"server exception", context.Background(), errors.New("code: 60, message: Table flowmeter.x doesn't exist"), false},
		{"canceled", canceled, closed, false},
	} {
		if got := brokenConnection(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%s: brokenConnection = %v, want %v", tc.name, got, tc.want)
		}
	}
	calls := 0
	err := retryBroken(context.Background(), func() error {
		calls++
		if calls == 1 {
			return closed
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Errorf("retryBroken: %v after %d calls, want success on the second", err, calls)
	}
	calls = 0
	if err := retryBroken(context.Background(), func() error { calls++; return closed }); err == nil || calls != 2 {
		t.Errorf("retryBroken of a lasting failure: %v after %d calls, want the error after 2", err, calls)
	}
}
