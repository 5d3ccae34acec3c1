package postgres

import (
	"strings"
	"testing"

	"imgward/store/storetest"
)

// TestAuditLeafIndex checks migration 0016: audit_log_leaf holds only the
// entries that have a leaf, and on a populated log every query on leaf
// (the tree's size, the leaves in order) and the integrator's read of the
// pending entries still walk an index.
func TestAuditLeafIndex(t *testing.T) {
	s := open(t, storetest.PostgresDSN(t))
	ctx := t.Context()
	var def string
	if err := s.db.QueryRowContext(ctx, `SELECT indexdef FROM pg_indexes WHERE indexname = 'audit_log_leaf'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "UNIQUE") || !strings.Contains(def, "WHERE (leaf IS NOT NULL)") {
		t.Errorf("audit_log_leaf is %q, want unique and partial on leaf IS NOT NULL", def)
	}
	// 100,000 entries, the last 1,000 pending.
	if _, err := s.db.ExecContext(ctx, `INSERT INTO audit_log (seq, time, actor, action, object, result, reason, prev, hash, leaf)
		SELECT g, g, 'u', 'instance.launch', 'instance/i', 'ok', '', '', sha256(g::text::bytea), CASE WHEN g <= 99000 THEN g END
		FROM generate_series(1, 100000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `ANALYZE audit_log`); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, query, index string }{
		{"tree size", `SELECT COALESCE(MAX(leaf), 0) FROM audit_log`, "audit_log_leaf"},
		{"leaves in order", `SELECT a.seq, a.hash, a.leaf FROM audit_log a WHERE a.leaf > 98000 ORDER BY a.leaf LIMIT 100`, "audit_log_leaf"},
		{"pending", `SELECT seq, hash FROM audit_log WHERE leaf IS NULL ORDER BY seq LIMIT 1024`, "audit_log_pending"},
		{"by seq", `SELECT a.seq, a.leaf FROM audit_log a WHERE a.seq > 99990 ORDER BY a.seq`, "audit_log_pkey"},
	}
	for _, tt := range tests {
		rows, err := s.db.QueryContext(ctx, "EXPLAIN "+tt.query)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var plan strings.Builder
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(line + "\n")
		}
		rows.Close()
		if !strings.Contains(plan.String(), "Index") || !strings.Contains(plan.String(), tt.index) {
			t.Errorf("%s: the plan does not use %s:\n%s", tt.name, tt.index, plan.String())
		}
	}
}
