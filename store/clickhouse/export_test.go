package clickhouse

// SetChunkRows makes writes split into INSERTs of n records, so tests can cross
// chunk boundaries with a few records.
func SetChunkRows(s *Store, n int) { s.chunkRows = n }

// Permanent exposes how Write classifies an insert's error.
func Permanent(err error) error { return permanent(err) }
