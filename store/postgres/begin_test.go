package postgres

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"imgward"
	"imgward/errors"
	"imgward/store/storetest"
)

// trips counts the round trips of a store's connections: each query and
// each batch that pgx sends is one (ROLLBACK, sent by the simple protocol,
// is not counted).
type trips struct{ n atomic.Int64 }

func (c *trips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *trips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *trips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *trips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *trips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

func openTraced(t *testing.T) (*Store, *trips) {
	cfg, err := pgx.ParseConfig(storetest.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	c := &trips{}
	cfg.Tracer = c
	s, err := openConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

// testImage is a fully set image, so that a read of it checks every column.
func testImage(id imgward.ImageID) *imgward.Image {
	now := time.UnixMicro(1_700_000_000_000_000).UTC()
	return &imgward.Image{ID: id, Name: "begin", Owner: "p1", Status: imgward.StatusActive,
		Visibility: "shared", Protected: true, DiskFormat: "qcow2", ContainerFormat: "bare",
		MinDisk: 10, MinRAM: 512, Size: 1<<33 + 1, Checksum: "0123456789abcdef0123456789abcdef",
		OSHashAlgo: "sha512", OSHashValue: "ab", Tags: []string{"linux", "x"},
		Properties: map[string]string{"os_distro": "debian", "note": "Grüße ✓"},
		CreatedAt:  now, UpdatedAt: now.Add(time.Minute)}
}

// TestBeginWithFirstRead checks that a write transaction's begin travels
// with its first read of one row (opener.BeginRow), or with its commit when
// it reads nothing: the round trips of each shape of transaction, and that
// the read answers exactly as it does alone.
func TestBeginWithFirstRead(t *testing.T) {
	s, c := openTraced(t)
	ctx := t.Context()
	const img = imgward.ImageID("00000000-0000-4000-8000-000000000001")
	want := testImage(img)
	if err := s.Update(ctx, func(tx imgward.Tx) error { return tx.CreateImage(ctx, want) }); err != nil {
		t.Fatal(err)
	}
	tokenHash := []byte("0123456789abcdef0123456789abcdef")
	if err := s.Update(ctx, func(tx imgward.Tx) error {
		if err := tx.CreateUser(ctx, &imgward.User{ID: "u2", Name: "u2", ProjectID: "p2", Role: imgward.RoleMember,
			TokenHash: tokenHash, CreatedAt: want.CreatedAt}); err != nil {
			return err
		}
		return tx.CreateMember(ctx, &imgward.Member{ImageID: img, MemberID: "p2", Status: imgward.MemberAccepted,
			CreatedAt: want.CreatedAt, UpdatedAt: want.CreatedAt})
	}); err != nil {
		t.Fatal(err)
	}
	var viewed *imgward.Image
	if err := s.View(ctx, func(tx imgward.Tx) error {
		var err error
		viewed, _, err = tx.ImageMember(ctx, img, "p2")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	instance := func(n int) *imgward.Instance {
		return &imgward.Instance{ID: imgward.InstanceID("i-begin" + string(rune('a'+n))), ImageID: img,
			ProjectID: "p2", UserID: "u2", Host: "h", State: imgward.InstanceRunning, CreatedAt: want.CreatedAt}
	}
	entry := func() *imgward.AuditEntry { return &imgward.AuditEntry{Actor: "u2", Action: "instance.launch"} }
	tests := []struct {
		name  string
		hot   bool
		fn    func(tx imgward.Tx) error
		trips int64
	}{
		{"launch: image read, instance, audit", true, func(tx imgward.Tx) error {
			got, m, err := tx.ImageMember(ctx, img, "p2")
			if err != nil {
				return err
			}
			if diff := cmp.Diff(viewed, got); diff != "" || m == nil {
				t.Errorf("ImageMember with the begin (-alone +with begin):\n%s\nmember %+v", diff, m)
			}
			if err := tx.CreateInstance(ctx, instance(0)); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, entry())
		}, 2},
		{"launch with its token: token, image and membership read, instance, audit", true, func(tx imgward.Tx) error {
			u, _, got, m, err := tx.TokenImageMember(ctx, tokenHash, img)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(viewed, got); diff != "" || m == nil || u.ID != "u2" {
				t.Errorf("TokenImageMember with the begin (-alone +with begin):\n%s\nmember %+v, user %+v", diff, m, u)
			}
			if err := tx.CreateInstance(ctx, instance(4)); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, entry())
		}, 2},
		{"cold: image read, then a write", false, func(tx imgward.Tx) error {
			if _, _, err := tx.ImageMember(ctx, img, "p2"); err != nil {
				return err
			}
			return tx.CreateInstance(ctx, instance(1))
		}, 2},
		{"no such image read first", true, func(tx imgward.Tx) error {
			if _, _, err := tx.ImageMember(ctx, "00000000-0000-4000-8000-000000000009", "p2"); !errors.Is(errors.NotExist, err) {
				t.Errorf("ImageMember of no image: %v, want NotExist", err)
			}
			return tx.CreateInstance(ctx, instance(2))
		}, 2},
		{"audit append alone", true, func(tx imgward.Tx) error { return tx.AppendAudit(ctx, entry()) }, 2},
		{"a queued write alone", true, func(tx imgward.Tx) error { return tx.CreateInstance(ctx, instance(3)) }, 1},
		{"a list first", true, func(tx imgward.Tx) error {
			_, err := tx.ListInstances(ctx, imgward.InstanceFilter{ImageID: img})
			return err
		}, 3},
	}
	for _, tt := range tests {
		before := c.n.Load()
		var err error
		if tt.hot {
			err = s.UpdateHot(ctx, tt.fn)
		} else {
			err = s.Update(ctx, tt.fn)
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if got := c.n.Load() - before; got != tt.trips {
			t.Errorf("%s: %d round trips, want %d", tt.name, got, tt.trips)
		}
	}
	var ins []imgward.Instance
	var entries []imgward.AuditEntry
	if err := s.View(ctx, func(tx imgward.Tx) error {
		var err error
		if ins, err = tx.ListInstances(ctx, imgward.InstanceFilter{ImageID: img}); err != nil {
			return err
		}
		entries, err = tx.ListAudit(ctx, 0, 100)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(ins) != 5 || len(entries) != 3 {
		t.Errorf("%d instances and %d audit entries committed, want 5 and 3", len(ins), len(entries))
	}
	for _, e := range entries {
		if e.Seq <= 0 {
			t.Errorf("audit entry with seq %d: the begin's sequence number was not used", e.Seq)
		}
	}
}

// TestFirstReadUnderLock checks that the read which goes with the begin
// runs under the write lock: a hot write that starts while a cold one
// holds the lock, having changed a rule, reads the rule as changed; and
// that a begin which fails (its context ends while it waits for the lock)
// lets nothing of the transaction run.
func TestFirstReadUnderLock(t *testing.T) {
	s := open(t, storetest.PostgresDSN(t))
	ctx := t.Context()
	const img = imgward.ImageID("00000000-0000-4000-8000-000000000002")
	if err := s.Update(ctx, func(tx imgward.Tx) error { return tx.CreateImage(ctx, testImage(img)) }); err != nil {
		t.Fatal(err)
	}
	locked, release := make(chan struct{}), make(chan struct{})
	cold := make(chan error, 1)
	go func() {
		cold <- s.Update(ctx, func(tx imgward.Tx) error {
			m := testImage(img)
			m.Status = imgward.StatusKilled
			if err := tx.UpdateImage(ctx, m); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked

	// A begin whose context ends while the cold write holds the lock.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	orphan := &imgward.Instance{ID: "i-orphan", ImageID: img, ProjectID: "p2", UserID: "u2", Host: "h",
		State: imgward.InstanceRunning, CreatedAt: time.Now()}
	err := s.UpdateHot(short, func(tx imgward.Tx) error {
		_, _, _ = tx.ImageMember(short, img, "p2") // its failure ignored, as a careless caller would
		return tx.CreateInstance(short, orphan)
	})
	if err == nil {
		t.Error("a write whose begin timed out succeeded")
	}

	hot := make(chan error, 1)
	var status imgward.ImageStatus
	go func() {
		hot <- s.UpdateHot(ctx, func(tx imgward.Tx) error {
			got, _, err := tx.ImageMember(ctx, img, "p2")
			if err == nil {
				status = got.Status
			}
			return err
		})
	}()
	time.Sleep(100 * time.Millisecond) // the hot write waits for the lock
	close(release)
	if err := <-cold; err != nil {
		t.Fatal(err)
	}
	if err := <-hot; err != nil {
		t.Fatal(err)
	}
	if status != imgward.StatusKilled {
		t.Errorf("the hot write's first read saw status %q, want the cold write's killed", status)
	}
	err = s.View(ctx, func(tx imgward.Tx) error {
		_, err := tx.Instance(ctx, orphan.ID)
		return err
	})
	if !errors.Is(errors.NotExist, err) {
		t.Errorf("the instance of a write whose begin failed: %v, want NotExist", err)
	}
}
