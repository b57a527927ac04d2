package clickhouse

// SetChunkRows makes writes split into INSERTs of n records, so tests can cross
// chunk boundaries with a few records.
func SetChunkRows(s *Store, n int) { s.chunkRows = n }
