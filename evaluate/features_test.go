package evaluate

import (
	"reflect"
	"testing"

	"imgward/detect/pipeline"
)

// TestDefaultSequence checks that eval's sequence features default to the
// service's, the one default that pipeline.DefaultSequence defines, and
// that an option changes them.
func TestDefaultSequence(t *testing.T) {
	if got, want := *(Options{}).sequence(), pipeline.DefaultSequence(); !reflect.DeepEqual(got, want) {
		t.Errorf("eval's default %+v, the service's %+v", got, want)
	}
	if got := *(Options{Neural: true}).sequence(); reflect.DeepEqual(got, pipeline.DefaultSequence()) || got.Neural == nil {
		t.Errorf("--neural gives %+v", got)
	}
	if c := (Options{}).config(); c.MaxRows != pipeline.DefaultMaxRows || c.Sequence == nil {
		t.Errorf("eval's pipeline configuration %+v is not the service's", c)
	}
}
