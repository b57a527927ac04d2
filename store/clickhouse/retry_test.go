package clickhouse

import (
	"context"
	"errors"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

func TestInsertRetrying(t *testing.T) {
	defer func(b time.Duration) { insertBackoff = b }(insertBackoff)
	insertBackoff = time.Millisecond
	network := errors.New("connection reset")
	tooFew := &ch.Exception{Code: 285, Message: "Number of alive replicas (1) is less than requested quorum (2)"}
	badData := &ch.Exception{Code: 41, Message: "Cannot parse datetime"}
	tests := []struct {
		name    string
		cluster bool
		errs    []error // what each attempt returns; nil after the list
		calls   int
		wantErr error
	}{
		{"single server, no retry", false, []error{network}, 1, network},
		{"cluster, network error then success", true, []error{network, network}, 3, nil},
		// 1 + insertRetries attempts, then the last error.
		{"cluster, network error every time", true, []error{network, network, network, network, network, network}, 5, network},
		{"cluster, the quorum cannot be met", true, []error{tooFew}, 2, nil},
		{"cluster, the data is refused", true, []error{badData}, 1, badData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Store{replicas: 2}
			if tc.cluster {
				s.cluster = &clusterDDL{}
			}
			calls := 0
			err := s.insertRetrying(context.Background(), func(context.Context) error {
				calls++
				if calls <= len(tc.errs) {
					return tc.errs[calls-1]
				}
				return nil
			})
			if calls != tc.calls || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("%d calls, error %v; want %d calls, error %v", calls, err, tc.calls, tc.wantErr)
			}
		})
	}
}
