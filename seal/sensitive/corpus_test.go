package sensitive

import (
	"bytes"
	"testing"
	"time"

	"imgward/seal/sensitive/sensitivetest"
)

// TestCorpus runs the scanner over the corpus that docs/PROTECTION.md
// compares with gitleaks: every secret found, no ordinary file.
func TestCorpus(t *testing.T) {
	secrets, ordinary := sensitivetest.Secrets(), sensitivetest.Ordinary()
	data, err := sensitivetest.Tar(append(secrets, ordinary...), time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	found, err := (&Scanner{}).Scan(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range found {
		got[f.Path] = f.Kind
	}
	for _, f := range secrets {
		if got[f.Name] == "" {
			t.Errorf("missed %s (%s)", f.Name, f.Category)
		}
	}
	for _, f := range ordinary {
		if got[f.Name] != "" {
			t.Errorf("false positive %s: %s", f.Name, got[f.Name])
		}
	}
}
