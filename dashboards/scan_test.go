package dashboards

import (
	"reflect"
	"testing"
)

func newOf(t reflect.Type) any { return reflect.New(t).Interface() }

// toFloat reads a scanned number, dereferencing pointers.
func toFloat(t *testing.T, v any) float64 {
	t.Helper()
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			t.Fatalf("NULL where a number was expected")
		}
		rv = rv.Elem()
	}
	switch {
	case rv.CanFloat():
		return rv.Float()
	case rv.CanInt():
		return float64(rv.Int())
	case rv.CanUint():
		return float64(rv.Uint())
	}
	t.Fatalf("not a number: %v", v)
	return 0
}
